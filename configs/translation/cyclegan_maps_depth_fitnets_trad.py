# Satellite-to-map (CycleGAN, Maps) <- AiT SwinV2-B NYUv2 depth teacher; FitNets, traditional
# projection (student -> teacher space);
# Z_s = G_B_E(G_A(x)).
_base_ = ['../_base_/translation_kd/cyclegan_depth.py', '../_base_/distill/fitnets_trad.py']

model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])

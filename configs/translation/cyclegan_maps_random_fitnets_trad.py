# Satellite-to-map (CycleGAN, Maps) <- randomly initialised ViT-B/16 teacher; FitNets, traditional
# projection (student -> teacher space);
# Z_s = G_B_E(G_A(x)).
_base_ = ['../_base_/translation_kd/cyclegan_random.py', '../_base_/distill/fitnets_trad.py']

model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])

# Satellite-to-map (CycleGAN, Maps) <- AiT SwinV2-B COCO instance segmentation teacher; FitNets,
# inverted projection (teacher -> student space);
# Z_s = G_B_E(G_A(x)).
_base_ = ['../_base_/translation_kd/cyclegan_insseg.py', '../_base_/distill/fitnets_inv.py']

model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])

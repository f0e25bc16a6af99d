# Satellite-to-map (CycleGAN, Maps) <- ViT-B/16 ImageNet classifier teacher; FitNets, inverted
# projection (teacher -> student space);
# Z_s = G_B_E(G_A(x)).
_base_ = ['../_base_/translation_kd/cyclegan_cls.py', '../_base_/distill/fitnets_inv.py']

model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])

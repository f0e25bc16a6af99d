# Colorization (Pix2Pix, CMP Facades) <- ViT-B/16 ImageNet classifier teacher; FitNets, inverted
# projection (teacher -> student space).
_base_ = ['../_base_/translation_kd/pix2pix_cls.py', '../_base_/distill/fitnets_inv.py']

model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])

# Table 10, row 1: keypoint-detection teacher (torchvision Keypoint R-CNN R50-FPN backbone),
# Z_s = G_B_E(G_A(x)); FitNets with the inverted projection (the paper's method).
_base_ = ['../_base_/translation_kd/cyclegan_keypoint.py', '../_base_/distill/fitnets_inv.py']

model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])

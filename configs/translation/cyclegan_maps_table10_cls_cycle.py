# Table 10, row 3: ViT-B/16 ImageNet classifier teacher, Z_s = G_B_E(G_A(x)); FitNets with
# the inverted projection (the same experiment as cyclegan_maps_cls_fitnets_inv.py).
_base_ = ['./cyclegan_maps_cls_fitnets_inv.py']

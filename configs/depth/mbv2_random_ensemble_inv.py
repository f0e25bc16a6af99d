# Table 7: random ViT-B/16 teacher -> MobileNetV2-0.5 student; Ensemble, inverted projection.
_base_ = ['../_base_/depth_kd/mbv2_random.py', '../_base_/distill/ensemble_inv.py']

model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])

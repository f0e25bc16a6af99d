# Table 6: ViT-B/16 classifier teacher -> MobileNetV2-0.5 student; FitNets, traditional projection.
_base_ = ['../_base_/depth_kd/mbv2_cls.py', '../_base_/distill/fitnets_trad.py']

model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])

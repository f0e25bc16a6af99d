# Table 8: ViT-B/16 classifier teacher -> ResNet-50 student; PKT, traditional projection.
_base_ = ['../_base_/depth_kd/r50_cls.py', '../_base_/distill/pkt_trad.py']

model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])

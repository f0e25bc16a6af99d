# Table 7: random ViT-B/16 teacher -> MobileNetV2-0.5 student; PKT, traditional projection.
_base_ = ['../_base_/depth_kd/mbv2_random.py', '../_base_/distill/pkt_trad.py']

model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])

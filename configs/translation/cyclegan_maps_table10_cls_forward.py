# Table 10, row 4: ViT-B/16 ImageNet classifier teacher, Z_s = G_A_E(x).
_base_ = ['./cyclegan_maps_table10_cls_cycle.py']

model = dict(distill_position='forward', distill_pairs=[
    dict(_base_.kd_pair, **_base_.kd_student_feature['forward'], **_base_.kd_method)])

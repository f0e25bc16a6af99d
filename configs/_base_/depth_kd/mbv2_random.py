# MobileNetV2-0.5 depth student <- randomly initialised, frozen ViT-B/16 (Table 7).
_base_ = ['../../depth/mbv2_baseline.py', '../teachers/vit_b16_random.py']

model = dict(_delete_=True, type='CrossTaskDistiller', student=_base_.model, **_base_.kd_teacher)
kd_pair = dict(name='enc', student='backbone', student_index=-1, **_base_.kd_teacher_feature)

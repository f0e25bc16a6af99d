# MobileNetV2-0.5 depth student <- AiT SwinV2-B depth teacher (Table 4).
_base_ = ['../../depth/mbv2_baseline.py', '../teachers/ait_swinv2b_depth.py']

model = dict(_delete_=True, type='CrossTaskDistiller', student=_base_.model, **_base_.kd_teacher)
kd_pair = dict(name='enc', student='backbone', student_index=-1, **_base_.kd_teacher_feature)

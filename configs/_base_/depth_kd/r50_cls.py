# ResNet-50 depth student <- ViT-B/16 ImageNet classifier (Table 8).
_base_ = ['../../depth/r50_baseline.py', '../teachers/vit_b16_cls.py']

model = dict(_delete_=True, type='CrossTaskDistiller', student=_base_.model, **_base_.kd_teacher)
kd_pair = dict(name='enc', student='backbone', student_index=-1, **_base_.kd_teacher_feature)

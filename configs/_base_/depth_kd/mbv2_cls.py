# MobileNetV2-0.5 depth student <- ViT-B/16 ImageNet classifier (Table 6).
# A (student, teacher) setting of the depth tables: the distiller around the student of
# ../../depth/<student>_baseline.py with the teacher of ../teachers/<teacher>.py, and
# `kd_pair`, the feature pair the method bases (../distill/*.py, `kd_method`) complete.
# The pair compares the student's deepest encoder map (`backbone` output -1: stride 32,
# the decoder's first input) with the teacher feature. A table config is then
#   _base_ = ['../_base_/depth_kd/<setting>.py', '../_base_/distill/<method>_<inv|trad>.py']
#   model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])
_base_ = ['../../depth/mbv2_baseline.py', '../teachers/vit_b16_cls.py']

model = dict(_delete_=True, type='CrossTaskDistiller', student=_base_.model, **_base_.kd_teacher)
kd_pair = dict(name='enc', student='backbone', student_index=-1, **_base_.kd_teacher_feature)

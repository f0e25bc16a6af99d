# DeepLabV3-R50-D8 ADE20K student <- torchvision ResNet-50 ImageNet classifier
# (supplementary 6.3.2, classification teacher).
# A (student, teacher) setting of the segmentation experiments, in the form of
# ../depth_kd/*.py: the distiller around the untouched MMSeg student of
# ../../seg/deeplabv3_r50_baseline.py with the teacher of ../teachers/<teacher>.py, and
# `kd_pair`, the feature pair a method base (../distill/*.py, `kd_method`) completes.
# Student feature (design choice): the backbone's last stage, `backbone` output 3,
# (B, 2048, H/8, W/8) with the D8 dilations: the map the ASPP head reads. The teacher's
# map is resized bilinearly to that grid (projector default resize_to='student').
_base_ = ['../../seg/deeplabv3_r50_baseline.py', '../teachers/resnet50_cls.py']

model = dict(_delete_=True, type='CrossTaskDistiller', student=_base_.model, **_base_.kd_teacher)
kd_pair = dict(name='enc', student='backbone', student_index=3, **_base_.kd_teacher_feature)

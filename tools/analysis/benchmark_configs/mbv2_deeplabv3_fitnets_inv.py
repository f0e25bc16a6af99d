# Benchmark setting for tools/analysis/benchmark.py (the early-exit figure): the
# MobileNetV2-0.5 depth student of the depth tables with torchvision's DeepLabV3-ResNet50
# as teacher, hooked at its dilated backbone (`backbone.layer4`, (B, 2048, H/8, W/8)), so
# the early exit skips the ASPP classifier. FitNets with the inverted projection.
# Offline (the timing does not depend on the weights):
#   --cfg-options model.teacher.weights=None model.teacher.weights_backbone=None
_base_ = [
    '../../../configs/depth/mbv2_baseline.py',
    '../../../configs/_base_/teachers/deeplabv3_r50_coco.py',
    '../../../configs/_base_/distill/fitnets_inv.py',
]

model = dict(
    _delete_=True, type='CrossTaskDistiller', student=_base_.model, **_base_.kd_teacher,
    distill_pairs=[dict(name='enc', student='backbone', student_index=-1,
                        **_base_.kd_teacher_feature, **_base_.kd_method)])

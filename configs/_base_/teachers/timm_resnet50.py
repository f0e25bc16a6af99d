# A timm model as the teacher (feature maps): timm's ResNet-50 (ImageNet-1K, timm's
# default pretrained tag) built with features_only=True, out_indices=(4,), so the
# model stops at layer4 and has no pooling/classifier.
# Weights: timm's Hugging Face cache (timm/resnet50.a1_in1k; offline: populate the HF
# cache and set HF_HUB_OFFLINE=1, or pretrained=False and the distiller's
# teacher_ckpt='<local .pth>').
# Feature: `layer4`, (B, 2048, H/32, W/32). Any timm.list_models() name works, with
# timm's own module names.
kd_teacher = dict(
    teacher=dict(type='TimmTeacher', model_name='resnet50', pretrained=True,
                 features_only=True, out_indices=(4,)))
kd_teacher_feature = dict(teacher='layer4')
# Trained on ImageNet-normalised RGB (timm's pretrained_cfg mean / std).
kd_teacher_norm = dict(teacher_norm=dict(mean=[123.675, 116.28, 103.53],
                                         std=[58.395, 57.12, 57.375]))

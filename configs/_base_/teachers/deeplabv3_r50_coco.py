# Segmentation teacher (supplementary 6.3.2): torchvision's DeepLabV3-ResNet50 trained on
# the COCO subset with the 20 Pascal VOC classes (COCO_WITH_VOC_LABELS_V1), frozen.
# Weights: $TORCH_HOME/hub/checkpoints/deeplabv3_resnet50_coco-cd0a2569.pth (offline:
# copy it there; with weights=None also pass weights_backbone=None, or torchvision
# fetches ImageNet backbone weights).
# Feature: `backbone.layer4`, (B, 2048, H/8, W/8) (dilated layer3-4). Equivalently
# teacher='backbone', teacher_index='out': the backbone returns a dict {'out', 'aux'}.
# The ASPP classifier never runs (the forward stops after the hooked module).
kd_teacher = dict(
    teacher=dict(type='TorchvisionTeacher', model_name='deeplabv3_resnet50',
                 weights='COCO_WITH_VOC_LABELS_V1'))
kd_teacher_feature = dict(teacher='backbone.layer4')
# Trained on ImageNet-normalised RGB (torchvision's transforms).
kd_teacher_norm = dict(teacher_norm=dict(mean=[123.675, 116.28, 103.53],
                                         std=[58.395, 57.12, 57.375]))

# Keypoint-detection teacher (Table 10's "KeyPoint Det."; the supplementary does not name
# it, design choice): the ResNet-50 FPN backbone of torchvision's Keypoint R-CNN trained
# on COCO person keypoints (KeypointRCNN_ResNet50_FPN_Weights.COCO_V1), frozen.
# Weights: torchvision's weights API, i.e. $TORCH_HOME/hub/checkpoints/
# keypointrcnn_resnet50_fpn_coco-fc266e95.pth (offline: copy the file there).
# Only the backbone runs: teacher_method='backbone' calls `network.backbone(x)` (a
# BackboneWithFPN), so the detector's GeneralizedRCNNTransform (resize to 800 pixels,
# normalisation), RPN and RoI heads never run; the input goes in at the student's size.
# Feature: `backbone.body.layer4`, the ResNet-50 C5 map (B, 2048, H/32, W/32) the FPN
# reads; the forward stops there (the FPN is not run).
kd_teacher = dict(
    teacher=dict(type='TorchvisionTeacher', model_name='keypointrcnn_resnet50_fpn',
                 weights='COCO_V1'),
    teacher_method='backbone')
kd_teacher_feature = dict(teacher='backbone.body.layer4')
# The detector's transform normalises with the ImageNet mean / std (RGB); calling the
# backbone directly skips it, so the teacher applies it itself.
kd_teacher_norm = dict(teacher_norm=dict(mean=[123.675, 116.28, 103.53],
                                         std=[58.395, 57.12, 57.375]))

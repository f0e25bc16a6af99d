# Keypoint-detection teacher (Table 10's "KeyPoint Det."; the supplementary does not name
# it): torchvision's Keypoint R-CNN ResNet-50 FPN (COCO person keypoints, COCO_V1), frozen,
# through torchvision's weights API ($TORCH_HOME/hub/checkpoints/
# keypointrcnn_resnet50_fpn_coco-fc266e95.pth). Design choice: only its backbone runs
# (method='backbone' calls `network.backbone(x)`), on the GAN input as it is (no resize to
# the detector's 800-pixel scale), normalised with the ImageNet mean / std its
# GeneralizedRCNNTransform applies. Feature: `backbone.body.layer4`, the ResNet-50 C5 map
# (2048 channels, stride 32) the FPN reads (early exit: the FPN is not run).
kd_teacher = dict(teacher=dict(
    model=dict(type='TorchvisionTeacher', model_name='keypointrcnn_resnet50_fpn',
               weights='COCO_V1'),
    method='backbone',
    norm=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])))
kd_teacher_feature = dict(teacher='backbone.body.layer4')

# Classification teacher of the segmentation experiments (supplementary 6.3.2):
# torchvision's ResNet-50, ImageNet-1K (IMAGENET1K_V2), frozen.
# Weights: $TORCH_HOME/hub/checkpoints/resnet50-11ad3fa6.pth (torchvision's cache;
# offline: copy the file there, or weights=None and the distiller's
# teacher_ckpt='<local .pth>').
# Feature: `layer4`, (B, 2048, H/32, W/32); the forward stops there (no pooling/fc).
kd_teacher = dict(
    teacher=dict(type='TorchvisionTeacher', model_name='resnet50', weights='IMAGENET1K_V2'))
kd_teacher_feature = dict(teacher='layer4')
# Trained on ImageNet-normalised RGB (torchvision's transforms).
kd_teacher_norm = dict(teacher_norm=dict(mean=[123.675, 116.28, 103.53],
                                         std=[58.395, 57.12, 57.375]))

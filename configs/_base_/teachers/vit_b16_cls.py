# Classification teacher of the depth tables (Tables 6 and 8, supplementary 6.3.1):
# torchvision's ViT-B/16, ImageNet-1K (IMAGENET1K_V1), frozen.
# Weights: torchvision's weights API, i.e. $TORCH_HOME/hub/checkpoints/vit_b_16-c867db91.pth
# (offline: copy the file there, or set weights=None and the distiller's
# teacher_ckpt='<local .pth>').
# Feature: the output of `encoder` (final LayerNorm included), tokens (B, 1 + 196, 768):
# the class token is dropped and the 14 x 14 patch tokens become a map.
# Every teacher base defines the same three variables:
#   kd_teacher: CrossTaskDistiller keyword arguments (teacher, its weights, input size);
#   kd_teacher_feature: the teacher side of a distill pair (module name [+ index]);
#   kd_teacher_norm: `teacher_norm`, the RGB mean / std (0-255) the network was trained
#     with, for students whose input is normalised otherwise (the image-translation
#     students feed [-1, 1]); the depth and segmentation students normalise like
#     ImageNet, which kd_teacher already accounts for.
kd_teacher = dict(
    teacher=dict(type='TorchvisionTeacher', model_name='vit_b_16', weights='IMAGENET1K_V1'),
    teacher_input_size=(224, 224))  # its position embedding is fixed to a 14 x 14 grid
kd_teacher_feature = dict(teacher='encoder')
# The network was trained on ImageNet-normalised RGB (torchvision's transforms).
kd_teacher_norm = dict(teacher_norm=dict(mean=[123.675, 116.28, 103.53],
                                         std=[58.395, 57.12, 57.375]))

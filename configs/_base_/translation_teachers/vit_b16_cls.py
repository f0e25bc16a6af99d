# Classification teacher (supplementary 6.3.1; Table 10's "Image Classif."): torchvision's
# ViT-B/16, ImageNet-1K (IMAGENET1K_V1), frozen. Weights through torchvision's weights API
# ($TORCH_HOME/hub/checkpoints/vit_b_16-c867db91.pth; offline: copy the file there).
# Every translation teacher base defines the same two variables, in the core's
# FrozenTeacher arguments (CORE_API.md):
#   kd_teacher: dict(teacher=<FrozenTeacher arguments>) for the translation model;
#   kd_teacher_feature: the teacher side of the distill pair.
# The translation models feed the teacher the real input x in [-1, 1]
# (set_input_norm([127.5] * 3, [127.5] * 3)); `norm` is the normalisation the teacher was
# trained with (ImageNet mean / std), `input_size` the 224 x 224 its position embedding
# is fixed to. Feature: the output of `encoder` (14 x 14 x 768 patch tokens as a map).
imagenet_norm = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
kd_teacher = dict(teacher=dict(
    model=dict(type='TorchvisionTeacher', model_name='vit_b_16', weights='IMAGENET1K_V1'),
    norm=imagenet_norm, input_size=(224, 224)))
kd_teacher_feature = dict(teacher='encoder')

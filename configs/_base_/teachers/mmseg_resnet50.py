# An MMSegmentation backbone as the teacher, built from its config: ResNetV1c-50 with
# MMSeg's ImageNet weights (open-mmlab://resnet50_v1c, loaded by init_weights()).
# Weights: $TORCH_HOME/hub/checkpoints/resnet50_v1c-2cccc1ad.pth (MMEngine's cache;
# offline: copy it there). For a trained MMSeg model use teacher_ckpt='<model .pth>',
# teacher_ckpt_prefix='backbone.' instead of init_cfg.
# Feature: `layer4`, (B, 2048, H/32, W/32).
kd_teacher = dict(
    teacher=dict(type='ResNetV1c', depth=50, out_indices=(3,),
                 init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')))
kd_teacher_feature = dict(teacher='layer4')
# Trained on ImageNet-normalised RGB.
kd_teacher_norm = dict(teacher_norm=dict(mean=[123.675, 116.28, 103.53],
                                         std=[58.395, 57.12, 57.375]))

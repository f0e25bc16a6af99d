# An MMDetection backbone as the teacher, built from its config in the `mmdet` scope
# (the `mmdet.` prefix; MMEngine imports mmdet's registry itself): the ResNet-50 of
# MMDet's Mask R-CNN R50-FPN 1x trained on COCO instance segmentation.
# Checkpoint: checkpoints/mask_rcnn_r50_fpn_1x_coco_20200205-d4b0c5d6.pth from the MMDet
# model zoo (configs/mask_rcnn/metafile.yml); its `backbone.*` entries are loaded.
# Feature: `layer4`, (B, 2048, H/32, W/32). Caffe-style or other MMDet backbones
# work alike (type='mmdet.<Backbone>').
kd_teacher = dict(
    teacher=dict(type='mmdet.ResNet', depth=50, out_indices=(3,)),
    teacher_ckpt='checkpoints/mask_rcnn_r50_fpn_1x_coco_20200205-d4b0c5d6.pth',
    teacher_ckpt_prefix='backbone.')
kd_teacher_feature = dict(teacher='layer4')
# Trained on ImageNet-normalised RGB (MMDet's DetDataPreprocessor of this model).
kd_teacher_norm = dict(teacher_norm=dict(mean=[123.675, 116.28, 103.53],
                                         std=[58.395, 57.12, 57.375]))

# Instance-segmentation teacher: MMDetection's Mask R-CNN R50-FPN 1x trained on COCO (box
# AP 38.2, mask AP 34.7), the whole detector built from MMDet's own config file in the
# `mmdet` scope (`cfg_path`, as MMRazor's architecture option), frozen. Only its backbone
# and FPN run (teacher_method='extract_feat'; the forward stops after the hooked neck:
# the RPN and RoI heads never run).
# Weights: pretrained=True loads the file MMDet's metafile lists for this config
# (mask_rcnn_r50_fpn_1x_coco_20200205-d4b0c5d6.pth, cached by MMEngine in
# $TORCH_HOME/hub/checkpoints/; offline: copy it there); the backbone's own ImageNet
# init_cfg is then skipped.
# Input: this detector normalises like MMSeg's students (ImageNet mean/std, RGB), so it
# sees the student's batch as it is; its DetDataPreprocessor is built but never used (a
# detector with other statistics needs teacher_norm=dict(mean=..., std=...)).
# Feature: `neck` output 1, P3 of the FPN, (B, 256, H/8, W/8): outputs 0..4 are P2..P6,
# strides 4, 8, 16, 32, 64, all 256 channels.
kd_teacher = dict(
    teacher=dict(cfg_path='mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', pretrained=True),
    teacher_method='extract_feat')
kd_teacher_feature = dict(teacher='neck', teacher_index=1)
# Trained on ImageNet-normalised RGB (its DetDataPreprocessor).
kd_teacher_norm = dict(teacher_norm=dict(mean=[123.675, 116.28, 103.53],
                                         std=[58.395, 57.12, 57.375]))

# Instance-segmentation teacher (Table 5, supplementary 6.3.1): the SwinV2-B backbone of
# All-in-Tokens trained on COCO instance segmentation (AiT config
# swinv2b_640reso_inssegonly.py: 640 x 640 inputs, shifted windows in every stage).
# Checkpoint: checkpoints/ait_insseg_swinv2b.pth, from the AiT release
# (https://github.com/SwinTransformer/AiT); its `backbone.*` entries are loaded strictly.
# Same feature as ait_swinv2b_depth.py; the input differs: AiT's COCO pipeline normalises
# with the ImageNet mean/std (RGB) like the students, so the batch goes in as it is.
_base_ = ['./ait_swinv2b_depth.py']

kd_teacher = dict(
    teacher=dict(img_size=(640, 640), use_shift=True),
    teacher_ckpt='checkpoints/ait_insseg_swinv2b.pth',
    teacher_norm=None)
# AiT's COCO pipeline: ImageNet mean / std.
kd_teacher_norm = dict(teacher_norm=dict(mean=[123.675, 116.28, 103.53],
                                         std=[58.395, 57.12, 57.375]))

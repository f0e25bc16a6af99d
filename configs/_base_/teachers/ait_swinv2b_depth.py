# Depth teacher (Table 4, supplementary 6.3.1): the SwinV2-B backbone of All-in-Tokens
# (AiT, Ning et al. 2023) fine-tuned on NYUv2 depth, frozen.
# Checkpoint: checkpoints/ait_depth_swinv2b_ar.pth (relative to the working directory):
# the official AiT release file of supplementary footnote 2 (ait-release/checkpoint/
# ait_depth_swinv2b_ar.pth, linked from https://github.com/SwinTransformer/AiT).
# Only its `backbone.*` entries are loaded, strictly.
# Input: AiT's NYUv2 depth pipeline feeds RGB / 255 (no mean/std), so the student's
# ImageNet normalisation is undone and the crop divided by 255 (teacher_norm); AiT
# fine-tuned on 480 x 480 NYUv2 crops, the students' crop; any size works (windows
# are padded).
# Feature: `norm3`, the normalised stride-32 stage-4 map (B, 1024, H/32, W/32) that
# AiT's task solver reads (`layers.0`..`layers.3` give the raw stage maps, 128-1024 ch).
# AiT's depth pipeline: RGB / 255.
kd_teacher_norm = dict(teacher_norm=dict(mean=[0., 0., 0.], std=[255., 255., 255.]))
kd_teacher = dict(
    teacher=dict(type='AiTSwinV2', arch='base', img_size=(480, 640)),
    teacher_ckpt='checkpoints/ait_depth_swinv2b_ar.pth',
    teacher_ckpt_prefix='backbone.',
    teacher_ckpt_strict=True,
    **kd_teacher_norm)
kd_teacher_feature = dict(teacher='norm3')

# Depth teacher (supplementary 6.3.1): the SwinV2-B backbone of All-in-Tokens fine-tuned
# on NYUv2 depth, frozen; checkpoints/ait_depth_swinv2b_ar.pth (the AiT release file of
# footnote 2), its `backbone.*` entries loaded strictly. AiT's depth pipeline feeds
# RGB / 255 (no mean / std). The GAN input (256 x 256) goes in as it is (windows are
# padded). Feature: `norm3`, the normalised stride-32 stage-4 map (1024 channels).
kd_teacher = dict(teacher=dict(
    model=dict(type='AiTSwinV2', arch='base', img_size=(480, 640)),
    checkpoint='checkpoints/ait_depth_swinv2b_ar.pth', checkpoint_prefix='backbone.',
    strict=True, norm=dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0])))
kd_teacher_feature = dict(teacher='norm3')

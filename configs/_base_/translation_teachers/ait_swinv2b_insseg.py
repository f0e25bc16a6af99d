# Instance-segmentation teacher (supplementary 6.3.1): the SwinV2-B backbone of
# All-in-Tokens trained on COCO instance segmentation (640 x 640 inputs, shifted windows in
# every stage), frozen; checkpoints/ait_insseg_swinv2b.pth (AiT release), `backbone.*`
# loaded strictly. AiT's COCO pipeline normalises with the ImageNet mean / std.
_base_ = ['./ait_swinv2b_depth.py']

kd_teacher = dict(teacher=dict(
    model=dict(img_size=(640, 640), use_shift=True),
    checkpoint='checkpoints/ait_insseg_swinv2b.pth',
    norm=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])))

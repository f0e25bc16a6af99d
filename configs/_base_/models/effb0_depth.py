# EfficientNet-B0 depth student (supplementary 6.3.1, Table 8): timm's efficientnet_b0
# through MMSeg's TIMMBackbone with features_only=True, which returns the five maps
# at strides 2, 4, 8, 16, 32 (16, 24, 40, 112, 320 channels) that the skip decoders
# take; no conv_head, pooling or classifier (3.60M encoder parameters, 5.29M with
# them: the "5.3M" of Table 8). The decoder head and everything else are those of
# mbv2_depth.py; pick another decoder with model.decode_head.decoder.
# Initialisation as the MobileNetV2 student: random (pretrained=False, works
# offline). ImageNet weights: pretrained=True (timm's Hugging Face cache, set
# HF_HUB_OFFLINE=1 offline) or checkpoint_path='<local timm .pth>'.
_base_ = ['./mbv2_depth.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='TIMMBackbone',
        model_name='efficientnet_b0',
        features_only=True,
        pretrained=False,
        out_indices=(0, 1, 2, 3, 4)),  # strides 2, 4, 8, 16, 32
    decode_head=dict(in_channels=[16, 24, 40, 112, 320]))

# Depth student of supplementary 6.3.1: MobileNetV2 (width 0.5) encoder with the
# `Decoder` head (Conv1x1 + 6 x (LeakyReLU, Conv3x3, LeakyReLU, Conv3x3) with
# bilinearly upsampled encoder skips), predicting metres up to max_depth.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],  # ImageNet statistics, RGB, 0-255
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size_divisor=32,  # training batches padded to a multiple of the encoder stride
    pad_val=0,
    seg_pad_val=0)  # padded depth = 0 = invalid, ignored by the loss
model = dict(
    type='DepthEstimator',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MobileNetV2',
        widen_factor=0.5,
        strides=(1, 2, 2, 2, 1, 2, 1),
        dilations=(1, 1, 1, 1, 1, 1, 1),
        out_indices=(0, 1, 2, 4, 6),  # strides 2, 4, 8, 16, 32
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='SkipDecoderDepthHead',
        decoder='Decoder',
        in_channels=[8, 16, 16, 48, 160],
        in_index=[0, 1, 2, 3, 4],
        channels=256,
        max_depth=10.0,
        norm_cfg=None,
        loss_decode=dict(type='ScaleInvariantLogLoss')),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

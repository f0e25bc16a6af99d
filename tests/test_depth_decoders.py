# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Tests of the depth student decoders (supplementary 6.3.1)."""
import math

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmkd_invproj.losses  # noqa: F401  (registers ScaleInvariantLogLoss)
from mmkd_invproj.registry import MODELS
from mmkd_invproj.students import DEPTH_DECODERS, SkipDecoderDepthHead

B, H, W = 2, 64, 96
MAX_DEPTH = 10.0
MBV2_CHANNELS = [8, 16, 16, 48, 160]  # MobileNetV2 widen_factor=0.5, out_indices (0,1,2,4,6)
MBV2_STRIDES = [2, 4, 8, 16, 32]


def _student_cfg(decoder: str, channels: int = 256) -> ConfigDict:
    return ConfigDict(
        type='DepthEstimator',
        backbone=dict(
            type='MobileNetV2',
            widen_factor=0.5,
            strides=(1, 2, 2, 2, 1, 2, 1),
            dilations=(1, 1, 1, 1, 1, 1, 1),
            out_indices=(0, 1, 2, 4, 6)),
        decode_head=dict(
            type='SkipDecoderDepthHead',
            in_channels=MBV2_CHANNELS,
            in_index=[0, 1, 2, 3, 4],
            decoder=decoder,
            channels=channels,
            max_depth=MAX_DEPTH),
        test_cfg=dict(mode='whole'))


@pytest.fixture(scope='module')
def students():
    torch.manual_seed(0)
    models = {name: MODELS.build(_student_cfg(name)).eval() for name in DEPTH_DECODERS}
    return models


@pytest.fixture(scope='module')
def image():
    return torch.rand(B, 3, H, W, generator=torch.Generator().manual_seed(0))


def _n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_decoder_names():
    assert DEPTH_DECODERS == ('Decoder', 'Decoder_d12', 'ULightDecoder_skip_4b')


def test_mobilenetv2_student_features(students, image):
    with torch.no_grad():
        feats = students['Decoder'].extract_feat(image)
    assert [f.shape[1] for f in feats] == MBV2_CHANNELS
    assert [(f.shape[2], f.shape[3]) for f in feats] == [(H // s, W // s) for s in MBV2_STRIDES]


@pytest.mark.parametrize('decoder,stride', [('Decoder', 1), ('Decoder_d12', 1),
                                            ('ULightDecoder_skip_4b', 4)])
def test_forward_shape_and_range(students, image, decoder, stride):
    model = students[decoder]
    with torch.no_grad():
        depth = model._forward(image)
        full = model.decode_head.predict(
            model.extract_feat(image), [dict(img_shape=(H, W), pad_shape=(H, W))] * B,
            model.test_cfg)
        results = model.predict(image)  # DepthEstimator's own post-processing
    pred = torch.stack([r.pred_depth_map.data for r in results])
    assert depth.shape == (B, 1, H // stride, W // stride)
    assert full.shape == (B, 1, H, W)
    assert pred.shape == (B, 1, H, W)
    torch.testing.assert_close(pred, full)
    for out in (depth, full):
        assert torch.isfinite(out).all()
        assert out.min().item() > 0.0 and out.max().item() < MAX_DEPTH


def test_odd_input_size_reaches_full_resolution(students):
    # 100 x 130 -> stride-32 features of 4 x 5; x2 upsampling snaps to the skip sizes
    with torch.no_grad():
        depth = students['Decoder']._forward(torch.rand(1, 3, 100, 130))
    assert depth.shape == (1, 1, 100, 130)


def test_block_resolutions_and_skips():
    head6 = SkipDecoderDepthHead(MBV2_CHANNELS, [0, 1, 2, 3, 4], decoder='Decoder')
    head4 = SkipDecoderDepthHead(MBV2_CHANNELS, [0, 1, 2, 3, 4],
                                 decoder='ULightDecoder_skip_4b')
    assert head6.block_strides == (32, 16, 8, 4, 2, 1)
    assert head6.skip_indices == (4, 3, 2, 1, 0, 0)
    assert head4.block_strides == (32, 16, 8, 4)
    assert head4.skip_indices == (4, 3, 2, 1)
    assert len(head4.blocks) == 4 and all(len(b) == 2 for b in head4.blocks)


def test_d12_second_conv_depthwise(students):
    d12 = students['Decoder_d12'].decode_head
    full = students['Decoder'].decode_head
    assert len(d12.blocks) == 6
    for block in d12.blocks:
        conv2 = block[3]
        assert isinstance(conv2, torch.nn.Conv2d) and conv2.kernel_size == (3, 3)
        assert conv2.groups == conv2.in_channels == conv2.out_channels
    for block in full.blocks:
        assert block[3].groups == 1
    assert _n_params(d12) < _n_params(full)


def test_decoder_param_count_closed_form(students):
    # channels=256, skips per block at strides 32,16,8,4,2,(2): 160,48,16,16,8,8
    c_in, skips = 256, [160, 48, 16, 16, 8, 8]
    widths = [128, 64, 32, 16, 16, 16]  # 256 halved per block, floor 16
    expected = 160 * 256 + 256  # Conv1x1 (weights + bias)
    for skip, w_out in zip(skips, widths):
        expected += (c_in + skip) * w_out * 9 + w_out  # Conv3x3 on [features, skip]
        expected += w_out * w_out * 9 + w_out  # second Conv3x3
        c_in = w_out
    expected += 16 * 1 * 9 + 1  # output Conv3x3 -> 1
    assert expected == 859_825
    assert _n_params(students['Decoder'].decode_head) == expected


def test_unknown_decoder_lists_valid_names():
    with pytest.raises(ValueError) as err:
        SkipDecoderDepthHead(MBV2_CHANNELS, [0, 1, 2, 3, 4], decoder='UNetDecoder')
    for name in DEPTH_DECODERS:
        assert name in str(err.value)


def test_loss_by_feat_with_invalid_pixels(students, image):
    model = students['ULightDecoder_skip_4b']
    gt = torch.rand(B, 1, H, W, generator=torch.Generator().manual_seed(1)) * 9.0 + 0.5
    gt[:, :, : H // 4] = 0.0  # invalid pixels
    samples = [SegDataSample(gt_depth_map=PixelData(data=gt[i])) for i in range(B)]
    model.train()
    try:
        pred = model._forward(image)
        losses = model.decode_head.loss_by_feat(pred, samples)
        assert set(losses) == {'loss_silog'}
        value = losses['loss_silog']
        assert value.dim() == 0 and math.isfinite(value.item()) and value.item() > 0
        value.backward()
        grads = [p.grad for p in model.decode_head.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        full_losses = model.loss(image, samples)
        assert set(full_losses) == {'decode.loss_silog'}
        assert math.isfinite(full_losses['decode.loss_silog'].item())
    finally:
        model.zero_grad()
        model.eval()


@pytest.mark.parametrize('config,model_name,table8_millions', [
    ('effb0_baseline.py', 'efficientnet_b0', 5.3), ('r50_baseline.py', 'resnet50', 25.6)])
def test_table8_encoders_are_timm_classifiers_minus_head(config, model_name, table8_millions):
    """The EfficientNet-B0 / ResNet-50 students' encoders (TIMMBackbone, features_only)
    hold exactly timm's classifier minus the parts after the last stage (EfficientNet:
    conv_head, bn2, classifier; ResNet: fc), and that classifier is Table 8's size."""
    import os.path as osp

    import timm
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from .conftest import REPO
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'depth', config))
    encoder = MODELS.build(cfg.model.backbone)
    classifier = timm.create_model(model_name, pretrained=False)
    head = {'efficientnet_b0': ('conv_head', 'bn2', 'classifier'), 'resnet50': ('fc',)}
    head_params = sum(_n_params(getattr(classifier, n)) for n in head[model_name])
    assert _n_params(encoder) == _n_params(classifier) - head_params
    assert round(_n_params(classifier) / 1e6, 1) == table8_millions

"""A timm ViT teacher takes the student's crops at any size, not only the 224 x 224 of
the build-time dry run (timm's dynamic_img_size, on by default in TimmTeacher)."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmkd_invproj  # noqa: F401
from mmkd_invproj.registry import MODELS
from mmkd_invproj.teachers.builders import build_timm_teacher

from .conftest import REPO


def vit_distiller(**teacher_kwargs):
    init_default_scope('mmseg')
    student = Config.fromfile(osp.join(REPO, 'configs/_base_/models/mbv2_depth.py')).model
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='CrossTaskDistiller', student=student,
        teacher=dict(type='TimmTeacher', model_name='vit_tiny_patch16_224', **teacher_kwargs),
        distill_pairs=[dict(name='enc', student='backbone', student_index=-1,
                            teacher='blocks.11', projector=dict(type='InvertedProjector'),
                            loss=dict(type='FitNetsLoss'))]))  # dry run at 224 x 224


def batch(h, w):
    samples = []
    for _ in range(2):
        s = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        s.gt_depth_map = PixelData(data=torch.rand(1, h, w) * 4 + 0.5)
        samples.append(s)
    return torch.randn(2, 3, h, w), samples


def test_vit_teacher_trains_at_another_size():
    model = vit_distiller()
    proj = model.pairs.projectors['enc']
    assert (proj.in_channels, proj.out_channels) == (192, 160)  # ViT-Ti tokens -> MBV2
    inputs, samples = batch(96, 128)  # not 224 x 224
    losses = model.loss(inputs, samples)
    assert math.isfinite(losses['loss_distill_enc'].item()) and losses['loss_distill_enc'] > 0
    # the teacher's tokens hold the 96/16 x 128/16 patch grid (+ the class token)
    with torch.no_grad():
        assert model.teacher.forward_features(inputs).shape == (2, 1 + 6 * 8, 192)


def test_fixed_size_vit_fails_at_the_first_step():
    """What dynamic_img_size=None avoids: the fixed-size ViT passes the 224 dry run and
    fails on the first batch of another size."""
    model = vit_distiller(dynamic_img_size=False)
    with pytest.raises(Exception, match="doesn't match model"):
        model.loss(*batch(96, 128))


def test_cnn_is_built_without_the_argument():
    model = build_timm_teacher('resnet18', features_only=True, out_indices=(4,))
    out = model(torch.zeros(1, 3, 64, 96))
    assert out[-1].shape == (1, 512, 2, 3)

import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mmkd_invproj  # noqa: F401
from mmkd_invproj.registry import MODELS

from .conftest import MBV2_WEIGHTS, REPO

STUDENT = Config.fromfile(osp.join(REPO, 'configs/_base_/models/mbv2_depth.py')).model


def make_distiller(projector='InvertedProjector', teacher_ckpt=True, **overrides):
    cfg = dict(
        type='CrossTaskDistiller',
        student=copy.deepcopy(STUDENT),
        teacher=dict(type='TorchvisionTeacher', model_name='mobilenet_v2'),
        teacher_ckpt=MBV2_WEIGHTS if teacher_ckpt else None,
        distill_pairs=[dict(name='enc', student='backbone', student_index=-1,
                            teacher='features.18', projector=dict(type=projector),
                            loss=dict(type='FitNetsLoss'))],
        infer_input_size=(64, 64))
    cfg.update(overrides)
    return MODELS.build(cfg)


def depth_batch(b=2, h=64, w=96):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    torch.manual_seed(0)
    inputs = torch.randn(b, 3, h, w)
    samples = []
    for _ in range(b):
        s = SegDataSample()
        s.gt_depth_map = PixelData(data=torch.rand(1, h, w) * 5 + 0.5)
        s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        samples.append(s)
    return inputs, samples


def test_public_types_are_registered():
    for name in ('CrossTaskDistiller', 'InvertedProjector', 'TraditionalProjector',
                 'FitNetsLoss', 'ScaleInvariantLogLoss'):
        assert MODELS.get(name) is not None, name


@pytest.mark.parametrize('projector,in_ch,out_ch', [('InvertedProjector', 1280, 160),
                                                    ('TraditionalProjector', 160, 1280)])
def test_projector_channels_are_inferred(projector, in_ch, out_ch):
    model = make_distiller(projector, teacher_ckpt=False)
    p = model.pairs.projectors['enc']
    assert (p.in_channels, p.out_channels) == (in_ch, out_ch)
    assert p.proj.weight.shape == (out_ch, in_ch, 1, 1)


def test_loss_dict_keeps_student_losses_and_adds_one_term_per_pair():
    model = make_distiller()
    inputs, samples = depth_batch()
    losses = model.loss(inputs, samples)
    student_losses = model.student.loss(inputs, samples)
    assert set(losses) == set(student_losses) | {'loss_distill_enc'}
    for k, v in student_losses.items():
        assert torch.allclose(losses[k], v), k
    # FitNets on the inverted pair, recomputed by hand from the two networks
    s_feat = model.student.backbone(inputs)[-1]
    with torch.no_grad():
        t_feat = model.teacher.features(inputs)
    pred = model.pairs.projectors['enc'].proj(t_feat)
    pred = torch.nn.functional.interpolate(pred, size=s_feat.shape[-2:], mode='bilinear',
                                           align_corners=False)
    ref = ((pred - s_feat) ** 2).mean()
    assert torch.allclose(losses['loss_distill_enc'], ref, rtol=1e-4, atol=1e-6)


def test_teacher_is_frozen_eval_and_gets_no_gradient():
    model = make_distiller()
    model.train()
    assert not model.teacher.training
    assert all(not m.training for m in model.teacher.modules())
    assert all(not p.requires_grad for p in model.teacher.parameters())
    inputs, samples = depth_batch()
    losses = model.loss(inputs, samples)
    sum(losses.values()).backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert model.pairs.projectors['enc'].proj.weight.grad.abs().sum() > 0
    assert model.student.backbone.conv1.conv.weight.grad.abs().sum() > 0


def test_teacher_weights_loaded_from_file():
    import torchvision
    model = make_distiller()
    ref = torch.load(MBV2_WEIGHTS, map_location='cpu')
    assert torch.equal(model.teacher.features[0][0].weight, ref['features.0.0.weight'])
    assert isinstance(model.teacher, torchvision.models.MobileNetV2)


def test_teacher_early_exit_skips_classifier():
    model = make_distiller()
    calls = []
    model.teacher.classifier.register_forward_hook(lambda *a: calls.append(1))
    inputs, samples = depth_batch()
    model.loss(inputs, samples)
    assert calls == []
    model_full = make_distiller(teacher_early_exit=False)
    model_full.teacher.classifier.register_forward_hook(lambda *a: calls.append(1))
    model_full.loss(inputs, samples)
    assert calls == [1]


def test_predict_runs_student_alone():
    model = make_distiller()
    model.eval()
    calls = []
    model.teacher.register_forward_hook(lambda *a: calls.append(1))
    inputs, samples = depth_batch(1)
    out = model(inputs, samples, mode='predict')
    assert calls == []
    assert out[0].pred_depth_map.data.shape == (1, 64, 96)


def test_random_teacher_seed_is_reproducible_and_isolated():
    torch.manual_seed(123)
    a = make_distiller(teacher_ckpt=False, teacher_seed=0)
    after_a = torch.rand(1)
    torch.manual_seed(123)
    b = make_distiller(teacher_ckpt=False, teacher_seed=0)
    after_b = torch.rand(1)
    c = make_distiller(teacher_ckpt=False, teacher_seed=1)
    wa, wb, wc = (m.teacher.features[0][0].weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
    assert torch.equal(after_a, after_b)


def test_unknown_module_names_fail_at_build_with_close_matches():
    cfg = dict(type='CrossTaskDistiller', student=copy.deepcopy(STUDENT),
               teacher=dict(type='TorchvisionTeacher', model_name='mobilenet_v2'),
               distill_pairs=[dict(name='enc', student='backbone', student_index=-1,
                                   teacher='features.81', projector=dict(type='InvertedProjector',
                                                                         in_channels=1280,
                                                                         out_channels=160),
                                   loss=dict(type='FitNetsLoss'))])
    with pytest.raises(KeyError, match=r"no module named \"features.81\" in the teacher.*'features.1'"):
        MODELS.build(cfg)


def test_pair_config_typo_lists_valid_keys():
    with pytest.raises(ValueError, match=r"unknown keys \['projecter'\].*valid keys"):
        make_distiller(distill_pairs=[dict(name='x', student='backbone', teacher='features',
                                           projecter=dict(type='InvertedProjector'),
                                           loss=dict(type='FitNetsLoss'))])


def test_teacher_norm_renormalises_student_inputs():
    model = make_distiller(teacher_norm=dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0]))
    x = torch.randn(1, 3, 4, 4)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    expected = (x * std + mean) / 255.0  # raw 0-255 pixels mapped to [0, 1]
    assert torch.allclose(model.teachers['teacher'].prepare(x), expected, atol=1e-5)


def test_load_weights_treats_a_subclass_of_the_distiller_as_a_distiller(tmp_path):
    """Before, ``load_weights`` compared the class name, so a subclass took a
    distiller checkpoint as a plain student's and matched no key."""
    from mmkd_invproj.apis import load_weights
    from mmkd_invproj.distillers import CrossTaskDistiller

    class MyDistiller(CrossTaskDistiller):
        pass

    torch.manual_seed(0)
    src = make_distiller()
    path = str(tmp_path / 'distiller.pth')
    torch.save(dict(state_dict=src.state_dict()), path)
    torch.manual_seed(1)
    dst = make_distiller()
    dst.__class__ = MyDistiller
    assert not torch.equal(dst.student.backbone.conv1.conv.weight,
                           src.student.backbone.conv1.conv.weight)
    counts = load_weights(dst, path)
    assert counts == dict(loaded=len(src.state_dict()), missing=0, unexpected=0)
    for name, value in src.state_dict().items():
        assert torch.equal(dst.state_dict()[name], value), name

"""The segmentation configs of configs/seg: MMSeg's DeepLabV3-R50 ADE20K model left as it
is, the schedule of supplementary 6.7, the full (teacher x method x projection) grid,
and teachers whose hooked modules exist with the documented shapes."""
import copy
import functools
import glob
import itertools
import os.path as osp

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd_invproj  # noqa: F401
from mmkd_invproj.registry import MODELS

from .conftest import REPO
from .seg_utils import LIGHT_STUDENT, MMSEG_ADE_DEEPLABV3

SEG = osp.join(REPO, 'configs', 'seg')
TEACHERS = {'cls': ('resnet50', 'layer4'), 'seg': ('deeplabv3_resnet50', 'backbone.layer4'),
            'random': ('resnet50', 'layer4')}
METHODS = {'fitnets': 'FitNetsLoss', 'at': 'ATLoss', 'pkt': 'PKTLoss'}
PROJECTIONS = {'inv': 'InvertedProjector', 'trad': 'TraditionalProjector'}


@functools.lru_cache(maxsize=None)
def _load(path: str) -> Config:
    return Config.fromfile(path)


def load(name: str) -> Config:
    """A fresh copy of configs/seg/<name> (each file is parsed once)."""
    return copy.deepcopy(_load(osp.join(SEG, name)))


@pytest.fixture(scope='module')
def mmseg_model(tmp_path_factory):
    """MMSeg's model as a config inheriting it through `mmseg::` sees it."""
    child = tmp_path_factory.mktemp('mmseg_ref') / 'child.py'
    child.write_text(f'_base_ = [{MMSEG_ADE_DEEPLABV3!r}]\n')
    return Config.fromfile(str(child)).model


def test_every_seg_config_keeps_the_mmseg_student(mmseg_model):
    files = sorted(glob.glob(osp.join(SEG, '*.py')))
    assert len(files) == 1 + 18 + 2 + 1  # baseline, grid, Mask R-CNN teacher, demo
    for f in files:
        cfg = load(osp.basename(f))
        if f.endswith('_baseline.py'):
            assert cfg.model == mmseg_model
            continue
        assert cfg.model.type == 'CrossTaskDistiller', f
        if not f.endswith('_demo.py'):
            assert cfg.model.student == mmseg_model, f
        assert cfg.custom_imports.imports == ['mmkd_invproj']
        assert cfg.custom_hooks == [dict(type='SegNumClassesCheckHook')]


def test_schedule_of_supplementary_6_7():
    cfg = load('deeplabv3_r50_baseline.py')
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert dict(cfg.optim_wrapper.optimizer) == dict(type='AdamW', lr=5e-3, weight_decay=1e-2)
    assert [dict(s) for s in cfg.param_scheduler] == [
        dict(type='OneCycleLR', eta_max=5e-3, begin=0, end=80, by_epoch=True,
             convert_to_iter_based=True)]
    assert dict(cfg.train_cfg) == dict(type='EpochBasedTrainLoop', max_epochs=80,
                                       val_interval=8)
    # an epoch loop needs a sampler that ends: MMSeg's InfiniteSampler is replaced
    assert cfg.train_dataloader.sampler.type == 'DefaultSampler'
    assert cfg.train_dataloader.batch_size == 20
    assert cfg.default_hooks.checkpoint.by_epoch and cfg.log_processor.by_epoch
    assert cfg.default_hooks.logger.log_metric_by_epoch
    assert cfg.default_hooks.checkpoint.save_best == 'mIoU'


def test_the_grid_is_complete():
    for teacher, method, proj in itertools.product(TEACHERS, METHODS, PROJECTIONS):
        cfg = load(f'deeplabv3_r50_{teacher}_{method}_{proj}.py')
        model_name, teacher_module = TEACHERS[teacher]
        assert cfg.model.teacher.model_name == model_name
        assert (cfg.model.get('teacher_seed') == 0) == (teacher == 'random')
        assert (cfg.model.teacher.weights is None) == (teacher == 'random')
        (pair,) = cfg.model.distill_pairs
        assert (pair.student, pair.student_index, pair.teacher) == ('backbone', 3, teacher_module)
        assert pair.loss.type == METHODS[method] and pair.loss.loss_weight == 1.0
        assert pair.projector.type == PROJECTIONS[proj]
    for proj in PROJECTIONS:
        cfg = load(f'deeplabv3_r50_maskrcnn_fitnets_{proj}.py')
        assert cfg.model.teacher.cfg_path == 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
        (pair,) = cfg.model.distill_pairs
        assert (pair.teacher, pair.teacher_index) == ('neck', 1)
        assert pair.projector.type == PROJECTIONS[proj]


def build_offline(name: str, **teacher_overrides):
    """The config's distiller with teacher weights and the student's ImageNet init off,
    and MMSeg's R18-D8 recipe for the student (same stage-4 stride, 512 channels)."""
    cfg = load(name)
    cfg.model.student.pretrained = None
    cfg.merge_from_dict({f'model.student.{k}': v for k, v in LIGHT_STUDENT.items()})
    cfg.model.teacher.update(teacher_overrides)
    cfg.model.infer_input_size = (64, 64)
    init_default_scope('mmseg')
    return MODELS.build(cfg.model)


def test_segmentation_teacher_feature_is_stride_8():
    """torchvision's DeepLabV3 dilates layer3-4: `backbone.layer4` is (B, 2048, H/8, W/8),
    on the student's grid (the student's stage 4 is stride 8 too, D8)."""
    model = build_offline('deeplabv3_r50_seg_pkt_inv.py', weights=None, weights_backbone=None)
    feats = model.teachers['teacher'](torch.zeros(1, 3, 64, 64))
    assert tuple(feats['backbone.layer4'].shape) == (1, 2048, 8, 8)
    s = model.student.backbone(torch.zeros(1, 3, 64, 64))[3]
    assert tuple(s.shape) == (1, 512, 8, 8)
    proj = model.pairs.projectors['enc']  # inverted: teacher (2048) -> student (512) space
    assert (type(proj).__name__, proj.in_channels, proj.out_channels) == (
        'InvertedProjector', 2048, 512)


def test_random_teacher_is_torchvisions_init_under_the_seed():
    """teacher_seed=0: the frozen ResNet-50 is exactly torchvision's initialisation after
    torch.manual_seed(0), whatever the global RNG holds; its layer4 is stride 32."""
    torch.manual_seed(123)
    model = build_offline('deeplabv3_r50_random_at_inv.py')
    torch.manual_seed(0)
    reference = torchvision.models.resnet50().state_dict()
    teacher = model.teacher.state_dict()
    for key in ('conv1.weight', 'layer4.2.conv3.weight', 'fc.weight'):
        assert torch.equal(teacher[key], reference[key]), key
    feats = model.teachers['teacher'](torch.zeros(1, 3, 64, 64))
    assert tuple(feats['layer4'].shape) == (1, 2048, 2, 2)

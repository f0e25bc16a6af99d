"""An MMDet Mask R-CNN, built from MMDet's own config file, as the frozen teacher of an
MMSeg student: trained through the Runner on the real ade_mini pairs."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from .conftest import REPO
from .seg_utils import tiny_ade_cfg

CONFIG = osp.join(REPO, 'configs/seg/deeplabv3_r50_maskrcnn_fitnets_inv.py')
MASK_RCNN = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
# offline: no COCO checkpoint, and no ImageNet init of the detector's backbone
OFFLINE_TEACHER = dict(pretrained=False, backbone=dict(init_cfg=None))


@pytest.fixture(scope='module')
def trained(tmp_path_factory, shared_dir):
    cfg = Config.fromfile(CONFIG)
    cfg.model.teacher.update(OFFLINE_TEACHER)
    # the student is lightened to MMSeg's R18-D8 recipe (seconds per step on a CPU);
    # the teacher, its scope, hooks and the pair are the config's
    cfg = tiny_ade_cfg(cfg, str(tmp_path_factory.mktemp('mmdet_teacher')), crop=64, iters=2,
                       light_student=True)
    runner = Runner.from_cfg(cfg)
    before = {k: v.clone() for k, v in runner.model.teacher.state_dict().items()}
    runner.train()
    return runner, before


def test_config_builds_the_detector_in_the_mmdet_scope(trained):
    runner, _ = trained
    teacher = runner.model.teacher
    assert type(teacher).__module__ == 'mmdet.models.detectors.mask_rcnn'
    # the detector's children come from MMDet's registry, not MMSeg's namesakes
    assert type(teacher.backbone).__module__ == 'mmdet.models.backbones.resnet'
    assert type(teacher.neck).__module__ == 'mmdet.models.necks.fpn'
    assert type(teacher.rpn_head).__module__ == 'mmdet.models.dense_heads.rpn_head'
    assert runner.model.teachers['teacher'].method == 'extract_feat'
    proj = runner.model.pairs.projectors['enc']
    assert (proj.in_channels, proj.out_channels) == (256, 512)  # P3 -> student stage 4


def test_two_iterations_leave_the_teacher_unchanged(trained):
    runner, before = trained
    assert runner.iter == 2
    after = runner.model.teacher.state_dict()
    assert after.keys() == before.keys()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed == []
    assert not any(p.requires_grad for p in runner.model.teacher.parameters())
    assert not runner.model.teacher.training
    loss = runner.message_hub.get_scalar('train/loss_distill_enc').current()
    assert loss > 0 and torch.isfinite(torch.tensor(loss))


def test_hooked_fpn_features_have_fpn_shapes(trained):
    runner, _ = trained
    model = runner.model
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        p2_to_p6 = model.teacher.extract_feat(x)
    assert [tuple(f.shape) for f in p2_to_p6] == [
        (2, 256, 16, 24), (2, 256, 8, 12), (2, 256, 4, 6), (2, 256, 2, 3), (2, 256, 1, 2)]
    # the pair reads P3 (teacher_index=1): stride 8, like the student's last stage
    feats = model.teachers['teacher'](x)
    assert list(feats) == ['neck[1]'] and torch.equal(feats['neck[1]'], p2_to_p6[1])


def test_pretrained_file_is_loaded_and_not_reinitialised(trained, tmp_path):
    """``pretrained=<file>`` names the detector's weights, which the frozen teacher
    loads instead of calling init_weights() (which here would fail on purpose)."""
    from mmkd_invproj.teachers.external import build_teacher_from_cfg_path
    runner, _ = trained
    ckpt = str(tmp_path / 'maskrcnn.pth')
    reference = {k: torch.randn_like(v) if v.is_floating_point() else v
                 for k, v in runner.model.teacher.state_dict().items()}
    torch.save({'state_dict': reference}, ckpt)
    _, weights = build_teacher_from_cfg_path(
        MASK_RCNN, pretrained=ckpt,
        backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'absent.pth'))))
    assert weights == ckpt
    from mmkd_invproj import CrossTaskDistiller
    distiller = CrossTaskDistiller(
        student=runner.cfg.model.student,
        teacher=dict(cfg_path=MASK_RCNN, pretrained=ckpt,
                     backbone=dict(init_cfg=dict(type='Pretrained',
                                                 checkpoint=str(tmp_path / 'absent.pth')))),
        teacher_method='extract_feat', infer_input_size=(64, 64),
        distill_pairs=[dict(name='enc', student='backbone', student_index=3, teacher='neck',
                            teacher_index=1, projector=dict(type='InvertedProjector'),
                            loss=dict(type='FitNetsLoss'))])
    loaded = distiller.teacher.state_dict()
    assert all(torch.equal(loaded[k], reference[k]) for k in reference)


def test_unknown_cfg_path_says_where_it_looked():
    from mmkd_invproj.teachers.external import build_teacher_from_cfg_path
    with pytest.raises(FileNotFoundError, match='teacher cfg_path "/no/such/config.py" does '
                       'not exist'):
        build_teacher_from_cfg_path('/no/such/config.py')

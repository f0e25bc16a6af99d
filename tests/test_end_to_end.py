"""The README's demo, end to end: train, validate on the real test frames, resume, export."""
import glob
import json
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from .conftest import REPO, run_tool

DEMO = 'configs/depth/mbv2_cls_teacher_inv_demo.py'
METRICS = ('d1', 'd2', 'd3', 'abs_rel', 'sq_rel', 'rmse', 'rmse_log')


def scalars(work_dir):
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert files, f'no scalars.json under {work_dir}'
    rows = []
    for f in sorted(files):
        with open(f) as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    return rows


@pytest.fixture(scope='module')
def trained(demo_run):
    return demo_run  # trained once per session (conftest), shared with other test modules


def test_demo_trains_validates_and_checkpoints(trained):
    rows = scalars(trained)
    val = [r for r in rows if 'd1' in r]
    assert len(val) == 2  # validation after epochs 20 and 40
    for r in val:
        for m in METRICS:
            assert math.isfinite(r[m]), (m, r)
        assert 0.0 <= r['d1'] <= 1.0 and r['abs_rel'] > 0
    train = [r for r in rows if 'loss_distill_enc' in r]
    assert train and all(math.isfinite(r['loss_distill_enc']) for r in train)
    assert all('decode.loss_silog' in r for r in train)
    assert osp.isfile(osp.join(trained, 'epoch_40.pth'))
    assert not glob.glob(osp.join(trained, '*.tmp'))  # atomic writes leave nothing behind


def test_resume_from_checkpoint(trained, tmp_path):
    ckpt = osp.join(trained, 'epoch_20.pth')
    assert osp.isfile(ckpt)
    proc = run_tool('train.py', DEMO, '--work-dir', str(tmp_path), '--resume', ckpt, check=True)
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 20, iter: 60' in log, log[-3000:]
    assert osp.isfile(osp.join(tmp_path, 'epoch_40.pth'))
    val = [r for r in scalars(str(tmp_path)) if 'd1' in r]
    assert len(val) == 1 and math.isfinite(val[0]['abs_rel'])


def test_exported_student_loads_strictly(trained, tmp_path):
    from mmengine.registry import init_default_scope

    import mmkd_invproj  # noqa: F401
    from mmkd_invproj.registry import MODELS
    init_default_scope('mmseg')
    out = str(tmp_path / 'student.pth')
    run_tool('model_converters/export_student.py', osp.join(trained, 'epoch_40.pth'), out,
             check=True)
    exported = torch.load(out, map_location='cpu')
    assert not any(k.startswith(('teacher', 'pairs', 'projectors', 'student.'))
                   for k in exported['state_dict'])
    cfg = Config.fromfile(osp.join(REPO, 'configs/depth/mbv2_baseline.py'))
    student = MODELS.build(cfg.model)
    student.load_state_dict(exported['state_dict'], strict=True)
    from mmkd_invproj.utils import mmengine_checkpoint_globals
    with mmengine_checkpoint_globals():  # a training checkpoint carries MMEngine's types
        full = torch.load(osp.join(trained, 'epoch_40.pth'), map_location='cpu')['state_dict']
    key = 'decode_head.conv_seg.weight' if 'student.decode_head.conv_seg.weight' in full else \
        next(k[len('student.'):] for k in full if k.startswith('student.decode_head'))
    assert torch.equal(student.state_dict()[key], full['student.' + key])


def test_tools_test_evaluates_exported_student(trained, tmp_path):
    out = str(tmp_path / 'student.pth')
    run_tool('model_converters/export_student.py', osp.join(trained, 'epoch_40.pth'), out,
             check=True)
    demo = Config.fromfile(osp.join(REPO, DEMO))
    root = demo.test_dataloader.dataset.data_root
    proc = run_tool('test.py', 'configs/depth/mbv2_baseline.py', out, '--work-dir',
                    str(tmp_path / 'test'), '--cfg-options',
                    f'test_dataloader.dataset.data_root={root}',
                    'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
                    check=True)
    assert 'd1:' in proc.stdout + proc.stderr

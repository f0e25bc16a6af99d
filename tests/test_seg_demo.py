"""The segmentation demo through tools/train.py on the real ade_mini pairs: it trains,
logs the distillation loss, and reports the mIoU of the held-out validation image,
which an independent NumPy computation from the saved prediction reproduces."""
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from .conftest import REPO
from .seg_utils import ADE_MINI, light_student_options, pipeline_index

DEMO = 'configs/seg/deeplabv3_r50_cls_teacher_inv_demo.py'
NUM_CLASSES = 150


def demo_options(pred_dir: str, crop: int = 64, epochs: int = 2) -> list:
    """--cfg-options that shrink the demo for a test: 64 x 64 crops, 2 iterations, one
    validation at the end, no checkpoints, MMSeg's R18-D8 recipe for the student (a
    fifth of R50-D8's parameters), and the validation prediction written to pred_dir."""
    cfg = Config.fromfile(osp.join(REPO, DEMO))
    train = cfg.train_dataloader.dataset.pipeline
    val = cfg.val_dataloader.dataset.pipeline
    size, scale = f'({crop},{crop})', f'({4 * crop},{crop})'
    return [
        f'data_preprocessor.size={size}', f'model.student.data_preprocessor.size={size}',
        f'model.infer_input_size={size}',
        f'train_dataloader.dataset.pipeline.{pipeline_index(train, "RandomResize")}.scale={scale}',
        f'train_dataloader.dataset.pipeline.{pipeline_index(train, "RandomCrop")}.crop_size={size}',
        f'val_dataloader.dataset.pipeline.{pipeline_index(val, "Resize")}.scale={scale}',
        f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
        f'param_scheduler.0.end={epochs}', 'default_hooks.checkpoint=None',
        f'val_evaluator.output_dir={pred_dir}',
    ] + light_student_options()


def scalars(work_dir: str) -> list:
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert len(files) == 1, files
    with open(files[0]) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def miou_reference(pred_png: str, ann_png: str) -> float:
    """mIoU (%) of one image as MMSeg defines it, in NumPy: ADE20K labels 1..150 become
    0..149 and 0 ("other") is ignored (reduce_zero_label); per class IoU = |P & G| /
    |P | G| over the non-ignored pixels; classes absent from both are skipped."""
    pred = np.asarray(Image.open(pred_png), dtype=np.int64) - 1  # MMSeg writes class + 1
    gt = np.asarray(Image.open(ann_png), dtype=np.int64)
    assert pred.shape == gt.shape
    valid = gt > 0
    pred, gt = pred[valid], gt[valid] - 1
    ious = []
    for c in range(NUM_CLASSES):
        union = np.count_nonzero((pred == c) | (gt == c))
        if union:
            ious.append(np.count_nonzero((pred == c) & (gt == c)) / union)
    return 100.0 * float(np.mean(ious))


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory, shared_dir):
    work_dir = str(tmp_path_factory.mktemp('seg_demo'))
    pred_dir = osp.join(work_dir, 'pred')
    # this checkout's package, whatever another (editable) install points at
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', DEMO, '--work-dir', work_dir, '--cfg-options']
        + demo_options(pred_dir), cwd=REPO, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return work_dir, pred_dir, proc.stdout + proc.stderr


def test_demo_logs_task_and_distillation_losses(demo_run):
    rows = [r for r in scalars(demo_run[0]) if 'loss' in r]
    assert [r['step'] for r in rows] == [1, 2]
    for r in rows:
        assert math.isfinite(r['loss_distill_enc']) and r['loss_distill_enc'] > 0
        assert math.isfinite(r['decode.loss_ce']) and math.isfinite(r['aux.loss_ce'])
        # the total MMEngine logs is the sum of every term it was given
        total = r['decode.loss_ce'] + r['aux.loss_ce'] + r['loss_distill_enc']
        assert r['loss'] == pytest.approx(total, abs=2e-4)


def test_demo_reports_miou_of_the_held_out_image(demo_run):
    work_dir, pred_dir, log = demo_run
    val = [r for r in scalars(work_dir) if 'mIoU' in r]
    assert len(val) == 1
    miou = val[0]['mIoU']
    assert math.isfinite(miou) and 0.0 <= miou <= 100.0
    assert 'Epoch(val) [2][1/1]' in log  # the single real validation image
    images = sorted(glob.glob(osp.join(ADE_MINI, 'images', 'validation', '*.jpg')))
    assert len(images) == 1
    name = osp.splitext(osp.basename(images[0]))[0]
    ref = miou_reference(osp.join(pred_dir, name + '.png'),
                         osp.join(ADE_MINI, 'annotations', 'validation', name + '.png'))
    assert miou == pytest.approx(ref, abs=0.006)  # MMSeg rounds to 2 decimals

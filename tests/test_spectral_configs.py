"""The teacher-free spectral configs (Table 9): each builds a CrossTaskDistiller whose
``loss_distill_spectral`` is the rank-r spectral residual of the student's deepest
encoder map, and the demo trains through the Runner on the real frames."""
import glob
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS, init_default_scope
from mmengine.runner import Runner

import mmkd_invproj  # noqa: F401
from mmkd_invproj.losses.spectral import SpectralLoss
from mmkd_invproj.registry import MODELS

from .conftest import REPO
from .conftest import short_cfg

RANKS = (1, 2, 4, 8, 16, 32)
CONFIG_DIR = osp.join(REPO, 'configs', 'depth')
DEMO = osp.join(CONFIG_DIR, 'mbv2_spectral_r2_demo.py')


def config(rank):
    return osp.join(CONFIG_DIR, f'mbv2_spectral_r{rank}.py')


def expected_spectral(feat, rank):
    """sqrt(sum_{i>r} sigma_i^2) / sqrt(N) of the (N, C) pixel-row matrix (NumPy SVD)."""
    rows = feat.detach().double().permute(0, 2, 3, 1).reshape(-1, feat.shape[1]).numpy()
    s = np.linalg.svd(rows, compute_uv=False)
    return math.sqrt(float(np.sum(s[rank:] ** 2))) / math.sqrt(rows.shape[0])


@pytest.fixture(scope='module')
def real_batch(shared_dir):
    """One batch of the spectral demo's train loader: 2 real frames, 224 x 288 crops."""
    cfg = Config.fromfile(DEMO)
    init_default_scope('mmseg')
    loader = Runner.build_dataloader(
        dict(cfg.train_dataloader, num_workers=0, persistent_workers=False), seed=0)
    return next(iter(loader))


def test_one_config_per_rank_of_table_9():
    found = sorted(osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, 'mbv2_spectral_r*.py')))
    assert found == sorted([f'mbv2_spectral_r{r}.py' for r in RANKS] + ['mbv2_spectral_r2_demo.py'])


@pytest.mark.parametrize('rank', RANKS)
def test_config_logs_spectral_loss_with_its_rank(rank, real_batch):
    cfg = Config.fromfile(config(rank))
    assert [p.loss.rank for p in cfg.model.distill_pairs] == [rank]
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert model.teacher is None and len(model.pairs.projectors) == 0
    loss_fn = model.pairs.distill_losses['spectral']
    assert isinstance(loss_fn, SpectralLoss) and loss_fn.rank == rank
    with torch.no_grad():
        data = model.data_preprocessor(real_batch, True)
        losses = model.loss(data['inputs'], data['data_samples'])
        feat = model.student.backbone(data['inputs'])[-1]  # same: train-mode BatchNorm
    assert set(losses) == {'decode.loss_silog', 'loss_distill_spectral'}
    assert tuple(feat.shape) == (2, 160, 7, 9)  # the decoder's first input, stride 32
    value = float(losses['loss_distill_spectral'])
    assert value == pytest.approx(expected_spectral(feat, rank), rel=1e-4)
    # the configured rank, not a neighbouring one, produced this value
    for other in RANKS:
        if other != rank:
            assert value != pytest.approx(expected_spectral(feat, other), rel=1e-3), other


def test_demo_runs_the_r2_model():
    demo, r2 = Config.fromfile(DEMO), Config.fromfile(config(2))
    assert demo.model.type == r2.model.type == 'CrossTaskDistiller'
    assert demo.model.teacher is None and r2.model.teacher is None
    assert demo.model.distill_pairs == r2.model.distill_pairs
    assert demo.model.student == r2.model.student
    # ... on the demo's data and schedule
    assert demo.train_dataloader.dataset.data_root.endswith('data/nyu_mini')
    assert (demo.train_cfg.max_epochs, demo.train_cfg.val_interval) == (40, 20)


def test_spectral_demo_trains_three_iterations_on_real_frames(tmp_path, shared_dir):
    runner = RUNNERS.build(short_cfg(tmp_path, 3, DEMO))
    assert runner.model.teacher is None
    before = {k: v.clone() for k, v in runner.model.student.backbone.state_dict().items()}
    runner.train()
    assert runner.iter == 3
    values = runner.message_hub.get_scalar('train/loss_distill_spectral').data[0]
    assert len(values) == 3
    assert all(math.isfinite(v) and v > 0 for v in values), values
    silog = runner.message_hub.get_scalar('train/decode.loss_silog').data[0]
    assert len(silog) == 3 and all(math.isfinite(v) for v in silog)
    changed = [k for k, v in runner.model.student.backbone.state_dict().items()
               if v.dtype.is_floating_point and not torch.equal(v, before[k])]
    assert changed

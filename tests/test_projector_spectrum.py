"""ProjectorSpectrumHook (Figure 4 spectra), the spectrum analysis and its plot."""
import json
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel

from mmkd_invproj.analysis import spectrum as sp
from mmkd_invproj.analysis import numerical_rank, projector_singular_values
from mmkd_invproj.hooks import projector_spectrum as spectrum_module
from mmkd_invproj.hooks.projector_spectrum import ProjectorSpectrumHook
from mmkd_invproj.distillers import DistillPairs
from mmkd_invproj.projectors import InvertedProjector, TraditionalProjector
from mmkd_invproj.registry import HOOKS

from .conftest import run_tool


def matrix_with_singular_values(sv, out_ch, in_ch, seed=0):
    """Q1 diag(sv) Q2^T of shape (out_ch, in_ch): singular values exactly ``sv``."""
    g = torch.Generator().manual_seed(seed)
    q1, _ = torch.linalg.qr(torch.randn(out_ch, out_ch, dtype=torch.float64, generator=g))
    q2, _ = torch.linalg.qr(torch.randn(in_ch, in_ch, dtype=torch.float64, generator=g))
    s = torch.zeros(out_ch, in_ch, dtype=torch.float64)
    s[range(len(sv)), range(len(sv))] = torch.tensor(sv, dtype=torch.float64)
    return q1 @ s @ q2.T


# Numerical ranks (count of sigma_i > threshold * sigma_1):
#   neck: threshold 0.01 -> > 0.1 -> {10, 1} = 2;   threshold 0.001 -> > 0.01 -> 3
#   head: threshold 0.01 -> > 0.04 -> {4, 2} = 2;   threshold 0.001 -> > 0.004 -> 3
SV_NECK = [10.0, 1.0, 0.05, 0.001]
SV_HEAD = [4.0, 2.0, 0.01]


def set_weight(projector, matrix):
    with torch.no_grad():
        projector.proj.weight.copy_(matrix.to(torch.float32)[:, :, None, None])
    projector.proj.weight.requires_grad_(False)


class ProjectorHolder(BaseModel):
    """A model whose DistillPairs hold known projectors, as a distiller's do."""

    def __init__(self):
        super().__init__()
        self.pairs = DistillPairs([], nn.Identity(), {})
        self.projectors = self.pairs.projectors
        self.projectors['neck'] = InvertedProjector(in_channels=4, out_channels=4)
        self.projectors['head'] = TraditionalProjector(in_channels=5, out_channels=3)
        self.projectors['lazy'] = InvertedProjector()  # never built: skipped
        set_weight(self.projectors['neck'], matrix_with_singular_values(SV_NECK, 4, 4, 0))
        set_weight(self.projectors['head'], matrix_with_singular_values(SV_HEAD, 3, 5, 1))
        self.dummy = nn.Parameter(torch.ones(1))

    def init_weights(self):  # keep the known weights
        pass

    def forward(self, inputs, data_samples=None, mode='tensor'):
        loss = ((self.dummy * inputs.float().mean()) ** 2).sum()
        if mode == 'loss':
            return dict(loss=loss)
        return loss


class DDPLike(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module


class RecordingVisualizer:
    def __init__(self):
        self.calls = []

    def add_scalars(self, scalars, step=0, **kwargs):
        self.calls.append((dict(scalars), step))


def fake_runner(tmp_path, model):
    return SimpleNamespace(iter=0, model=model, visualizer=RecordingVisualizer(),
                           log_dir=str(tmp_path / 'log'), work_dir=str(tmp_path))


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_numerical_rank_and_singular_values():
    w = matrix_with_singular_values(SV_NECK, 4, 4)
    np.testing.assert_allclose(projector_singular_values(w), SV_NECK, rtol=1e-10, atol=1e-13)
    # sigma_i > 0.01 * 10 = 0.1: only 10 and 1 (0.05 and 0.001 are below)
    assert numerical_rank(SV_NECK, 0.01) == 2
    assert numerical_rank(SV_NECK, 0.001) == 3  # > 0.01: 10, 1, 0.05
    assert numerical_rank(SV_NECK, 0.0) == 4
    assert numerical_rank([0.0, 0.0], 0.01) == 0
    assert numerical_rank([], 0.01) == 0


def test_hook_with_fake_runner(tmp_path):
    hook = ProjectorSpectrumHook(interval=2, threshold=0.001)
    runner = fake_runner(tmp_path, DDPLike(ProjectorHolder()))
    hook.before_train(runner)
    for it in range(5):  # iterations 0..4 complete; the hook sees runner.iter = it
        runner.iter = it
        hook.after_train_iter(runner, batch_idx=it)
    runner.iter = 5  # the train loop has incremented past the last iteration
    hook.after_train(runner)

    path = osp.join(runner.log_dir, 'projector_spectrum.jsonl')
    assert hook.out_path(runner) == path
    records = read_jsonl(path)
    # before training (0), every 2 iterations (2, 4), end of training (5); 2 built projectors
    assert [(r['iter'], r['projector']) for r in records] == [
        (0, 'neck'), (0, 'head'), (2, 'neck'), (2, 'head'), (4, 'neck'), (4, 'head'),
        (5, 'neck'), (5, 'head')]
    neck, head = records[0], records[1]
    assert neck['type'] == 'InvertedProjector' and neck['shape'] == [4, 4]
    assert head['type'] == 'TraditionalProjector' and head['shape'] == [3, 5]
    np.testing.assert_allclose(neck['singular_values'], SV_NECK, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(head['singular_values'], SV_HEAD, rtol=1e-6, atol=1e-7)
    # tolerance 0.001 * sigma_1: neck 10 * 0.001 = 0.01 -> {10, 1, 0.05} = 3;
    # head 4 * 0.001 = 0.004 -> {4, 2, 0.01} = 3
    assert neck['numerical_rank'] == 3 and head['numerical_rank'] == 3
    assert neck['threshold'] == 0.001
    assert neck['sigma_1'] == pytest.approx(10.0, rel=1e-6)

    calls = runner.visualizer.calls
    assert [step for _, step in calls] == [0, 2, 4, 5]
    scalars, _ = calls[1]
    assert set(scalars) == {'projector/neck/rank', 'projector/neck/sigma_1',
                            'projector/head/rank', 'projector/head/sigma_1'}
    assert scalars['projector/neck/rank'] == 3 and scalars['projector/head/rank'] == 3
    assert scalars['projector/neck/sigma_1'] == pytest.approx(10.0, rel=1e-6)
    assert scalars['projector/head/sigma_1'] == pytest.approx(4.0, rel=1e-6)


def test_hook_default_threshold_is_figure4_tolerance(tmp_path):
    hook = ProjectorSpectrumHook(interval=3)
    assert hook.threshold == 0.01 and hook.out_file == 'projector_spectrum.jsonl'
    runner = fake_runner(tmp_path, ProjectorHolder())
    runner.iter = 2  # third iteration -> recorded at iter 3
    hook.after_train_iter(runner, batch_idx=2)
    runner.iter = 3
    hook.after_train(runner)  # iteration 3 already recorded: no duplicate
    records = read_jsonl(hook.out_path(runner))
    assert [r['iter'] for r in records] == [3, 3]
    by_name = {r['projector']: r for r in records}
    assert by_name['neck']['numerical_rank'] == 2  # 0.05 and 0.001 < 0.1
    assert by_name['head']['numerical_rank'] == 2  # 0.01 < 0.04
    assert runner.visualizer.calls == [({'projector/neck/rank': 2,
                                         'projector/neck/sigma_1': pytest.approx(10.0, rel=1e-6),
                                         'projector/head/rank': 2,
                                         'projector/head/sigma_1': pytest.approx(4.0, rel=1e-6)},
                                        3)]


def test_hook_only_on_main_process(tmp_path, monkeypatch):
    monkeypatch.setattr(spectrum_module, 'is_main_process', lambda: False)
    hook = ProjectorSpectrumHook(interval=1)
    runner = fake_runner(tmp_path, ProjectorHolder())
    hook.before_train(runner)
    hook.after_train_iter(runner, batch_idx=0)
    hook.after_train(runner)
    assert not osp.exists(hook.out_path(runner))
    assert runner.visualizer.calls == []


@pytest.mark.parametrize('model', [nn.Linear(2, 2), 'unbuilt'])
def test_hook_without_projectors_warns_once(tmp_path, monkeypatch, model):
    if model == 'unbuilt':
        model = nn.Module()
        model.pairs = DistillPairs([], nn.Identity(), {})
        model.pairs.projectors['a'] = InvertedProjector()
    messages = []
    monkeypatch.setattr(spectrum_module, 'print_log',
                        lambda msg, logger=None, level=None: messages.append(msg))
    hook = ProjectorSpectrumHook(interval=1)
    runner = fake_runner(tmp_path, model)
    hook.before_train(runner)
    for it in range(3):
        runner.iter = it
        hook.after_train_iter(runner, batch_idx=it)
    hook.after_train(runner)
    assert len(messages) == 1 and 'nothing is recorded' in messages[0]
    assert not osp.exists(hook.out_path(runner))
    assert runner.visualizer.calls == []


@pytest.mark.parametrize('kwargs', [dict(interval=0), dict(interval=2.5), dict(threshold=-1)])
def test_hook_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        ProjectorSpectrumHook(**kwargs)


def test_hook_in_mmengine_runner(tmp_path):
    from mmengine.runner import Runner
    assert HOOKS.get('ProjectorSpectrumHook') is ProjectorSpectrumHook
    runner = Runner(
        model=ProjectorHolder(),
        work_dir=str(tmp_path),
        train_dataloader=dict(dataset=[dict(inputs=torch.ones(2)) for _ in range(4)],
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              batch_size=2, collate_fn=dict(type='default_collate')),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=5),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        custom_hooks=[dict(type='ProjectorSpectrumHook', interval=2)],
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook', interval=1000)),
        default_scope='mmseg',
        experiment_name=f'spectrum_{tmp_path.name}')
    runner.train()
    records = read_jsonl(osp.join(runner.log_dir, 'projector_spectrum.jsonl'))
    assert [(r['iter'], r['projector']) for r in records] == [
        (it, name) for it in (0, 2, 4, 5) for name in ('neck', 'head')]
    for r in records:  # frozen projectors: the known spectrum at every record
        ref = SV_NECK if r['projector'] == 'neck' else SV_HEAD
        np.testing.assert_allclose(r['singular_values'], ref, rtol=1e-6, atol=1e-7)
        assert r['numerical_rank'] == 2 and r['threshold'] == 0.01
    # the scalars reached the visualizer's backends (LocalVisBackend: vis_data/scalars.json)
    scalars_file = osp.join(runner.log_dir, 'vis_data', 'scalars.json')
    logged = [json.loads(line) for line in open(scalars_file) if 'projector/neck/rank' in line]
    assert [(d['step'], d['projector/neck/rank'], d['projector/head/rank']) for d in logged] == [
        (0, 2, 2), (2, 2, 2), (4, 2, 2), (5, 2, 2)]
    assert logged[0]['projector/neck/sigma_1'] == pytest.approx(10.0, rel=1e-6)


def test_plot_reads_jsonl_and_writes_png(tmp_path):
    hook = ProjectorSpectrumHook(interval=1, threshold=0.01)
    model = ProjectorHolder()
    runner = fake_runner(tmp_path, model)
    hook.before_train(runner)
    for it in range(6):  # shrink the neck's trailing values over "training"
        runner.iter = it
        sv = [10.0, 1.0 / (it + 1), 0.05 / (it + 1), 0.001]
        set_weight(model.projectors['neck'], matrix_with_singular_values(sv, 4, 4))
        hook.after_train_iter(runner, batch_idx=it)
    spectra = sp.load_spectrum(hook.out_path(runner))
    assert list(spectra) == ['neck', 'head']
    neck = spectra['neck']
    np.testing.assert_array_equal(neck['iters'], [0, 1, 2, 3, 4, 5, 6])
    assert neck['singular_values'].shape == (7, 4)
    np.testing.assert_allclose(neck['singular_values'][-1], [10, 1 / 6, 0.05 / 6, 0.001],
                               rtol=1e-5)
    # 1 / (it + 1) > 0.1 until it = 9; 0.05 never: rank 2 throughout
    np.testing.assert_array_equal(neck['numerical_rank'], [2] * 7)
    assert neck['threshold'] == 0.01

    out = sp.plot_spectrum(spectra, str(tmp_path / 'fig' / 'spectrum.png'))
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    import matplotlib.image as mpimg
    img = mpimg.imread(out)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 500  # 2 panels side by side
    assert img[..., :3].std() > 0.01  # not blank

    # the command line
    cli_out = str(tmp_path / 'cli.png')
    proc = run_tool('analysis/plot_projector_spectrum.py', hook.out_path(runner), '--out',
                    cli_out, '--ncols', '1')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == f'wrote {cli_out} (2 projector(s))\n'
    img = mpimg.imread(cli_out)
    assert img.shape[0] > img.shape[1]  # two panels stacked


def test_plot_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        sp.load_spectrum(str(tmp_path / 'missing.jsonl'))
    bad = tmp_path / 'bad.jsonl'
    bad.write_text(json.dumps(dict(iter=1, projector='a')) + '\n')
    with pytest.raises(ValueError, match='singular_values'):
        sp.load_spectrum(str(bad))


def test_import_loads_only_the_spectrum_analysis_and_every_name_still_imports():
    """`import mmkd_invproj` (ProjectorSpectrumHook) loads analysis.spectrum, not the
    benchmark / rank experiment / results / timing modules (before: all of them);
    each name of `mmkd_invproj.analysis.__all__` is the object of its submodule."""
    import importlib
    import subprocess
    import sys

    from .conftest import REPO
    code = ('import sys, mmkd_invproj; print(sorted(m for m in sys.modules '
            "if m.startswith('mmkd_invproj.analysis')))")
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split('\n')[-2] == ("['mmkd_invproj.analysis', "
                                           "'mmkd_invproj.analysis.spectrum']")
    analysis = importlib.import_module('mmkd_invproj.analysis')
    assert len(analysis.__all__) == len(set(analysis.__all__)) == 44
    for name in analysis.__all__:
        value = getattr(analysis, name)
        owners = [m for m in ('benchmark', 'decomposition', 'rank_experiment', 'results',
                              'spectrum', 'timing')
                  if getattr(importlib.import_module(f'mmkd_invproj.analysis.{m}'), name,
                             None) is value]
        assert owners, name
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        analysis.no_such_name

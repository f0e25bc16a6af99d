"""Issue 12, reliability: MMSeg's own pieces where they are broken on the installed
versions (DepthMetric subsets, undecodable files, a pipeline without the annotation the
loss reads) and training that stops at the first non-finite loss term.

The new names are imported inside each test, so on the code before the fix every test
fails on its own assertion (or on the missing name), not at collection."""
import glob
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS, init_default_scope

import mmkd_invproj  # noqa: F401

from .conftest import DEPTH_DEMO as DEMO
from .conftest import NYU_MINI, run_tool, short_cfg

NAN_PROBE = 'tests/configs/demo_nan_probe.py'


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def truncated_copy(src, dst, fraction=0.5):
    with open(src, 'rb') as f:
        data = f.read()
    with open(dst, 'wb') as f:
        f.write(data[:int(len(data) * fraction)])
    return str(dst), int(len(data) * fraction)


# -- 4a: DepthMetric(depth_metrics=[...]) -------------------------------------------------

def _depth_pairs():
    """Real NYU-format ground truth (the 3 nyu_mini test maps, metres) and a prediction
    off by a known smooth factor between 0.7 and 1.4."""
    pairs = []
    for path in sorted(glob.glob(osp.join(NYU_MINI, 'annotations', 'test', '*.png'))):
        gt = cv2.imread(path, cv2.IMREAD_UNCHANGED).astype(np.float32) / 1000.0
        h, w = gt.shape
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        pred = np.where(gt > 0, gt, 1.0) * np.exp(0.35 * np.sin(xx / 37.0 + yy / 23.0))
        pairs.append((gt, pred.astype(np.float32)))
    assert len(pairs) == 3
    return pairs


def _numpy_metrics(pairs, min_depth, max_depth):
    """d1, abs_rel, rmse per image on the Eigen (nyu_crop) mask, averaged over images."""
    out = {'d1': [], 'abs_rel': [], 'rmse': []}
    for gt, pred in pairs:
        gt, pred = gt.astype(np.float64), pred.astype(np.float64)
        crop = np.zeros(gt.shape, bool)
        crop[45:471, 41:601] = True
        mask = (gt > min_depth) & (gt < max_depth) & crop
        g, p = gt[mask], pred[mask]
        out['d1'].append(np.mean(np.maximum(g / p, p / g) < 1.25))
        out['abs_rel'].append(np.mean(np.abs(p - g) / g))
        out['rmse'].append(np.sqrt(np.mean((p - g) ** 2)))
    return {k: float(np.mean(v)) for k, v in out.items()}


def _evaluate(metric, pairs):
    samples = [dict(pred_depth_map=dict(data=torch.from_numpy(pred)[None]),
                    gt_depth_map=dict(data=torch.from_numpy(gt)[None])) for gt, pred in pairs]
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_depth_metric_subset_equals_full_computation(shared_dir):
    """MMSeg 1.2.2 raised ``TypeError: isinstance() arg 2 must be a type...`` here."""
    from mmseg.registry import METRICS
    kw = dict(min_depth_eval=1e-3, max_depth_eval=10.0, crop_type='nyu_crop')  # the configs'
    pairs = _depth_pairs()
    subset = _evaluate(METRICS.build(dict(type='DepthMetric', depth_metrics=['d1', 'abs_rel',
                                                                              'rmse'], **kw)),
                       pairs)
    full = _evaluate(METRICS.build(dict(type='DepthMetric', **kw)), pairs)
    assert list(subset) == ['d1', 'abs_rel', 'rmse']
    assert len(full) == 9
    for k in subset:
        assert subset[k] == full[k], k
    reference = _numpy_metrics(pairs, 1e-3, 10.0)
    for k, v in reference.items():
        assert subset[k] == pytest.approx(v, rel=1e-5, abs=1e-7), k
    assert 0.2 < subset['d1'] < 0.95  # the test data are not degenerate


def test_depth_metric_subset_rejects_unknown_names():
    from mmseg.registry import METRICS
    with pytest.raises(ValueError) as err:
        METRICS.build(dict(type='DepthMetric', depth_metrics=['d1', 'rms']))
    assert str(err.value) == (
        "DepthMetric cannot compute ['rms']; depth_metrics takes names out of ['d1', 'd2', "
        "'d3', 'abs_rel', 'sq_rel', 'rmse', 'rmse_log', 'log10', 'silog']")
    with pytest.raises(TypeError) as err:
        METRICS.build(dict(type='DepthMetric', depth_metrics='rmse'))
    assert "got 'rmse'" in str(err.value)


# -- 4c: an undecodable image or annotation names its file --------------------------------

def _tail(reason):
    return f': {reason}. Replace the file or remove the sample from the dataset.'


def test_truncated_image_names_the_file(tmp_path, shared_dir):
    from mmseg.registry import TRANSFORMS

    from mmkd_invproj.datasets import UnreadableFileError
    path, n = truncated_copy(osp.join(NYU_MINI, 'images/train/redwood_0000.jpg'),
                             tmp_path / 'img.jpg')
    with pytest.raises(UnreadableFileError) as err:
        TRANSFORMS.build(dict(type='LoadImageFromFile'))(dict(img_path=path))
    assert str(err.value) == (f'LoadImageFromFile cannot read the image {path}' + _tail(
        f'its {n} bytes do not decode (truncated, corrupt, or not the expected format)'))

    empty = str(tmp_path / 'empty.jpg')
    open(empty, 'wb').close()
    with pytest.raises(UnreadableFileError) as err:
        TRANSFORMS.build(dict(type='LoadImageFromFile'))(dict(img_path=empty))
    assert str(err.value) == (f'LoadImageFromFile cannot read the image {empty}'
                              + _tail('the file is empty (0 bytes)'))


def test_truncated_depth_annotation_names_the_file(tmp_path, shared_dir):
    """MMSeg 1.2.2: ``'NoneType' object has no attribute 'astype'``."""
    from mmseg.registry import TRANSFORMS

    from mmkd_invproj.datasets import UnreadableFileError
    path, n = truncated_copy(osp.join(NYU_MINI, 'annotations/train/redwood_0000.png'),
                             tmp_path / 'depth.png')
    load = TRANSFORMS.build(dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3))
    with pytest.raises(UnreadableFileError) as err:
        load(dict(depth_map_path=path, seg_fields=[]))
    assert str(err.value) == (
        f'LoadDepthAnnotation cannot read the depth annotation {path}'
        + _tail(f'its {n} bytes do not decode (truncated, corrupt, or not the expected format)'))


def test_truncated_segmentation_annotation_names_the_file(tmp_path, shared_dir):
    """MMSeg 1.2.2 + Pillow: ``OSError: image file is truncated``, no file name."""
    from mmseg.registry import TRANSFORMS

    from mmkd_invproj.datasets import UnreadableFileError
    src = osp.join(shared_dir, 'data/ade_mini/annotations/training/ADE_val_00000001.png')
    path, n = truncated_copy(src, tmp_path / 'seg.png')
    load = TRANSFORMS.build(dict(type='LoadAnnotations', reduce_zero_label=True))
    with pytest.raises(UnreadableFileError) as err:
        load(dict(seg_map_path=path, seg_fields=[], reduce_zero_label=True))
    text = str(err.value)
    # the rest of the reason is Pillow's own message
    assert text.startswith(f'LoadAnnotations cannot read the segmentation annotation {path}: '
                           f'decoding its {n} bytes fails (')
    assert text.endswith('). Replace the file or remove the sample from the dataset.')


def test_other_loading_errors_are_left_as_they_were(tmp_path, shared_dir):
    """A readable file and a failure elsewhere: the upstream error, unchanged."""
    from mmseg.registry import TRANSFORMS
    load = TRANSFORMS.build(dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3))
    with pytest.raises(KeyError, match='seg_fields'):
        load(dict(depth_map_path=osp.join(NYU_MINI, 'annotations/train/redwood_0000.png')))
    with pytest.raises(FileNotFoundError):
        load(dict(depth_map_path=str(tmp_path / 'missing.png'), seg_fields=[]))


def test_dataset_with_a_truncated_annotation_names_it(tmp_path, shared_dir):
    """Through the demo config's own dataset and pipeline (registered type names)."""
    from mmseg.registry import DATASETS

    from mmkd_invproj.datasets import UnreadableFileError
    root = tmp_path / 'nyu'
    for sub in ('images/train', 'annotations/train'):
        os.makedirs(root / sub)
        for f in sorted(os.listdir(osp.join(NYU_MINI, sub))):
            os.symlink(osp.join(NYU_MINI, sub, f), root / sub / f)
    bad = root / 'annotations/train/redwood_0002.png'
    os.unlink(bad)
    bad, n = truncated_copy(osp.join(NYU_MINI, 'annotations/train/redwood_0002.png'), bad)
    cfg = Config.fromfile(DEMO).train_dataloader.dataset
    cfg.data_root = str(root)
    dataset = DATASETS.build(cfg)
    index = [dataset.get_data_info(i)['depth_map_path'] for i in range(len(dataset))].index(bad)
    dataset[(index + 1) % len(dataset)]  # the others load
    with pytest.raises(UnreadableFileError, match=f'depth annotation {bad}: its {n} bytes'):
        dataset[index]


# -- 4b: a training pipeline without the annotation the loss reads ------------------------

def test_missing_depth_annotation_fails_before_the_first_iteration(tmp_path, shared_dir):
    """Before: ``AttributeError: 'SegDataSample' object has no attribute 'gt_depth_map'``
    from inside the decode head's loss, after the first forward."""
    cfg = short_cfg(tmp_path)
    cfg.train_dataloader.dataset.pipeline = [
        t for t in cfg.train_dataloader.dataset.pipeline if t['type'] != 'LoadDepthAnnotation']
    runner = RUNNERS.build(cfg)
    with pytest.raises(ValueError) as err:
        runner.train()
    assert str(err.value) == (
        "DepthEstimator's loss needs `gt_depth_map` in every training sample, but the "
        "training pipeline does not load it: add dict(type='LoadDepthAnnotation', ...) after "
        'LoadImageFromFile to train_dataloader.dataset.pipeline (it is now: LoadImageFromFile '
        '-> Resize -> RandomFlip -> RandomCrop -> PackSegInputs).')
    assert runner.iter == 0


def test_depth_head_loss_names_the_missing_transform():
    """The check where the loss reads the field, for runs without the hook."""
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    head = MODELS.build(dict(type='SkipDecoderDepthHead', in_channels=[8, 16, 16, 48, 160],
                             in_index=[0, 1, 2, 3, 4], channels=32, max_depth=10.0))
    with pytest.raises(ValueError) as err:
        head.loss_by_feat(torch.rand(1, 1, 8, 8), [SegDataSample()])
    assert str(err.value) == (
        "SkipDecoderDepthHead's loss needs `gt_depth_map` in every training sample, but the "
        "training pipeline does not load it: add dict(type='LoadDepthAnnotation', ...) after "
        'LoadImageFromFile to train_dataloader.dataset.pipeline.')


@pytest.fixture(scope='module')
def demo_runner(tmp_path_factory, shared_dir):
    init_default_scope('mmseg')
    cfg = short_cfg(tmp_path_factory.mktemp('runner'))
    cfg.custom_hooks = [dict(type='FiniteLossHook')]  # already there: not added twice
    return RUNNERS.build(cfg)


def test_reliability_hooks_are_registered_once(demo_runner):
    from mmkd_invproj.hooks import FiniteLossHook, TrainAnnotationCheckHook
    kinds = [type(h) for h in demo_runner.hooks]
    assert kinds.count(FiniteLossHook) == 1 and kinds.count(TrainAnnotationCheckHook) == 1


def test_annotation_check_leaves_the_random_streams_as_they_were(demo_runner):
    """The check draws a sample through random transforms; training must not notice."""
    import random

    from mmkd_invproj.utils.annotations import check_train_annotations
    dataset = demo_runner.train_dataloader.dataset  # (building the loader draws numbers)
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    check_train_annotations(demo_runner.model, dataset)
    after = random.random(), np.random.rand(), torch.rand(1).item()
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    assert after == (random.random(), np.random.rand(), torch.rand(1).item())


def test_checkpoint_write_is_atomic(demo_runner, tmp_path, monkeypatch):
    """A job killed half-way through a checkpoint write leaves the previous file."""
    import mmengine.runner.runner as mmengine_runner
    kw = dict(save_optimizer=False, save_param_scheduler=False)
    demo_runner.save_checkpoint(str(tmp_path), 'epoch_1.pth', **kw)
    good = (tmp_path / 'epoch_1.pth').read_bytes()

    def killed_mid_write(checkpoint, filepath, **_):
        with open(filepath, 'wb') as f:
            f.write(good[:len(good) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(mmengine_runner, 'save_checkpoint', killed_mid_write)
    with pytest.raises(KeyboardInterrupt):
        demo_runner.save_checkpoint(str(tmp_path), 'epoch_1.pth', **kw)
    assert (tmp_path / 'epoch_1.pth').read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_1.pth']  # no stray .tmp


# -- 5: a non-finite loss stops training --------------------------------------------------

def train(args, env=None):
    return run_tool('train.py', *args, env=env, timeout=900)


def test_nan_distill_loss_stops_training_and_resume_continues(tmp_path, shared_dir):
    """Before: training ran on to epoch 3 with NaN weights and exited 0."""
    work = str(tmp_path)
    proc = train([NAN_PROBE, '--work-dir', work])
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = osp.join(work, 'epoch_1.pth')
    assert (
        'mmkd_invproj.hooks.finite_loss.NonFiniteLossError: non-finite loss at iteration 5 '
        '(epoch 2, batch 2 of 3): loss_distill_enc = nan. Training stopped before any later '
        f'hook or checkpoint used this iteration; the last checkpoint, {last}, is intact.'
    ) in proc.stderr, proc.stderr[-3000:]
    assert 'and continue with `tools/train.py CONFIG --resume`.' in proc.stderr
    # the last good checkpoint: complete, finite, the one --resume picks; nothing later
    assert sorted(f for f in os.listdir(work) if '.pth' in f) == ['epoch_1.pth']  # no .tmp
    assert open(osp.join(work, 'last_checkpoint')).read() == last
    state = torch.load(last, map_location='cpu', weights_only=False)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    # the cause fixed (no NaN injection), --resume continues from epoch 1
    proc = train([NAN_PROBE, '--work-dir', work, '--resume', '--cfg-options', 'custom_hooks=[]'])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'resumed epoch: 1, iter: 3' in proc.stdout + proc.stderr
    state = torch.load(osp.join(work, 'epoch_3.pth'), map_location='cpu',
                       weights_only=False)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_finite_loss_check_reads_the_device_once_and_names_the_bad_terms():
    """FiniteLossHook's check of an iteration's log_vars: one host read (one device
    sync on a GPU) for every term and the total together when all are finite (before:
    one ``float()`` per term and one for the total), and the same findings as
    before when they are not."""
    import math

    from torch.overrides import TorchFunctionMode

    from mmkd_invproj.hooks.finite_loss import _non_finite_terms

    class HostReads(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.calls = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, '__name__', '')
            if name in ('__float__', '__bool__', '__int__', 'item', 'tolist', 'numpy'):
                self.calls.append(name)
            return func(*args, **(kwargs or {}))

    nan, inf = float('nan'), float('inf')
    outputs = {'loss': torch.tensor(6.0), 'decode.acc_seg': torch.tensor(nan),
               **{f'loss_{i}': torch.tensor(float(i)) for i in range(4)}}
    with HostReads() as reads:
        assert _non_finite_terms(outputs) == {}
    assert reads.calls == ['__bool__']
    with HostReads() as reads:  # numbers only: nothing to read from a device
        assert _non_finite_terms({'loss': 1.5, 'loss_a': 1.0, 'loss_b': 0.5}) == {}
        assert _non_finite_terms({}) == {}
    assert reads.calls == []
    # non-finite terms by name (tensors, numbers, a non-scalar tensor's sum);
    # log_vars without 'loss' in the name never count
    bad = _non_finite_terms({'loss': torch.tensor(nan), 'loss_a': torch.tensor(1.0),
                             'loss_b': torch.tensor(nan, dtype=torch.bfloat16),
                             'loss_c': inf, 'loss_d': torch.tensor([1.0, -inf]),
                             'decode.acc_seg': torch.tensor(nan)})
    assert list(bad) == ['loss_b', 'loss_c', 'loss_d']
    assert math.isnan(bad['loss_b']) and bad['loss_c'] == inf and bad['loss_d'] == -inf
    # the total only when every term is finite (an overflow of their sum)
    assert _non_finite_terms({'loss': torch.tensor(inf), 'loss_a': torch.tensor(3e38),
                              'loss_b': torch.tensor(3e38)}) == {'loss': inf}


def test_nan_task_loss_stops_training_under_a_plain_mmengine_runner(tmp_path, shared_dir):
    """MMEngine's own ``Runner`` (a user's MMSeg runtime) gets the check the way
    tools/train.py adds it; an iteration-based loop names the iteration alone."""
    from mmengine.runner import Runner

    import tests.nan_probe  # noqa: F401  (registers NaNInjectHook)
    from mmkd_invproj.engine import register_reliability_hooks
    from mmkd_invproj.hooks import NonFiniteLossError
    cfg = short_cfg(tmp_path, iters=4)
    cfg.pop('runner_type')
    cfg.custom_hooks = [dict(type='NaNInjectHook', at_iter=2, loss_type='ScaleInvariantLogLoss')]
    runner = Runner.from_cfg(cfg)
    assert type(runner) is Runner
    register_reliability_hooks(runner)
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    assert str(err.value) == (
        'non-finite loss at iteration 2: decode.loss_silog = nan. Training stopped before '
        'any later hook or checkpoint used this iteration; no checkpoint had been written '
        "yet. Fix the cause (e.g. lower the learning rate or the term's loss_weight, check "
        'the inputs and teacher features) and train again from the start (there is nothing '
        'to resume).')
    assert runner.iter == 1  # the NaN iteration never completed

"""Mixed precision: ``--amp`` training on a CPU (bfloat16 autocast) and a
half-precision teacher (``CrossTaskDistiller(teacher_dtype=...)``)."""
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.optim import AmpOptimWrapper, OptimWrapper

import mmkd_invproj  # noqa: F401
from mmkd_invproj.losses import pkt_loss
from mmkd_invproj.teachers.frozen import parse_teacher_dtype
from mmkd_invproj.engine import AnyDeviceAmpOptimWrapper, amp_optim_wrapper_type

from .conftest import REPO
from .test_distiller import depth_batch, make_distiller

needs_cpu = pytest.mark.skipif(torch.cuda.is_available(),
                               reason='checks the CPU branch of AnyDeviceAmpOptimWrapper')


def _train_steps(model, wrapper, steps=2):
    inputs, samples = depth_batch(b=2, h=64, w=96)
    log_vars = []
    for _ in range(steps):
        with wrapper.optim_context(model):
            losses = model(inputs, samples, mode='loss')
        loss, _ = model.parse_losses(losses)
        wrapper.update_params(loss)
        log_vars.append(losses)
    return log_vars


@needs_cpu
def test_train_py_amp_runs_bfloat16_autocast_with_finite_losses(tmp_path, shared_dir):
    """tools/train.py --amp on the demo config, 1 epoch (3 iterations) + validation."""
    work_dir = str(tmp_path)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    cmd = [sys.executable, 'tools/train.py', 'tests/configs/demo_amp_probe.py', '--amp',
           '--work-dir', work_dir, '--cfg-options', 'train_cfg.max_epochs=1',
           'train_cfg.val_interval=1', 'default_hooks.logger.interval=1',
           'default_hooks.checkpoint.interval=1']
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]

    with open(osp.join(work_dir, 'amp_probe.json')) as f:
        probe = json.load(f)
    # tools/train.py --amp picked the CPU-capable subclass of MMEngine's AmpOptimWrapper
    assert probe['wrapper_classes'][:2] == ['AnyDeviceAmpOptimWrapper', 'AmpOptimWrapper']
    assert probe['cast_dtype'] == 'torch.bfloat16'
    assert len(probe['iters']) == 3
    for it in probe['iters']:
        # conv outputs are bfloat16 only because autocast ran (the weights are float32)
        assert it['student_features'] == {'backbone': 'torch.bfloat16'}
        assert it['teacher_features'] == {'features.18': 'torch.bfloat16'}
        # ... while every loss was computed in float32
        assert it['loss_dtypes'] == {'loss': 'torch.float32',
                                     'decode.loss_silog': 'torch.float32',
                                     'loss_distill_enc': 'torch.float32'}
        assert all(math.isfinite(v) and v > 0 for v in it['losses'].values()), it

    rows = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    train = [r for r in rows if 'loss_distill_enc' in r]
    assert len(train) == 3
    for r in train:
        for key in ('loss', 'decode.loss_silog', 'loss_distill_enc'):
            assert math.isfinite(r[key]), (key, r)
    val = [r for r in rows if 'rmse' in r]
    assert len(val) == 1 and math.isfinite(val[0]['rmse']) and val[0]['rmse'] > 0
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))


@needs_cpu
def test_any_device_amp_wrapper_on_cpu_is_bfloat16_without_loss_scaling():
    assert amp_optim_wrapper_type() == 'AnyDeviceAmpOptimWrapper'
    lin = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.5, -1.0]]))
    wrapper = AnyDeviceAmpOptimWrapper(optimizer=torch.optim.SGD(lin.parameters(), lr=0.25))
    assert isinstance(wrapper, AmpOptimWrapper)
    with wrapper.optim_context(lin):
        assert torch.is_autocast_enabled('cpu')
        assert torch.get_autocast_dtype('cpu') == torch.bfloat16
        out = lin(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().sum())
    # d(sum)/dw = column sums of x = (4, 6); unscaled SGD step: w - 0.25 * (4, 6)
    assert torch.equal(lin.weight.detach(), torch.tensor([[0.5 - 1.0, -1.0 - 1.5]]))
    assert wrapper.loss_scaler.is_enabled() is False
    assert not torch.is_autocast_enabled('cpu')


@needs_cpu
@pytest.mark.parametrize('kwargs,message', [
    (dict(dtype='float16'), 'CPU autocast supports only bfloat16, got dtype=torch.float16'),
    (dict(dtype='int8'), "dtype must be one of ('float16', 'bfloat16', 'float32', 'float64')"),
    (dict(use_fsdp=True), 'use_fsdp=True needs a GPU'),
])
def test_any_device_amp_wrapper_rejects_what_a_cpu_cannot_do(kwargs, message):
    lin = nn.Linear(2, 1)
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
        AnyDeviceAmpOptimWrapper(optimizer=torch.optim.SGD(lin.parameters(), lr=0.1), **kwargs)


def test_bfloat16_teacher_stays_frozen_and_gives_float32_loss():
    model = make_distiller(teacher_dtype='bfloat16')
    model.train()
    teacher_tensors = list(model.teacher.parameters()) + list(model.teacher.buffers())
    assert {t.dtype for t in teacher_tensors if t.is_floating_point()} == {torch.bfloat16}
    assert {p.dtype for p in model.student.parameters()} == {torch.float32}
    assert {p.dtype for p in model.pairs.projectors.parameters()} == {torch.float32}
    before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    student_before = model.student.backbone.conv1.conv.weight.detach().clone()

    wrapper = OptimWrapper(optimizer=torch.optim.AdamW(model.parameters(), lr=1e-3))
    dtypes = []
    model.teacher.features[18].register_forward_hook(lambda m, i, o: dtypes.append(o.dtype),
                                                     prepend=True)  # before the early exit
    log = _train_steps(model, wrapper, steps=2)

    after = model.teacher.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(after[k].dtype == before[k].dtype for k in before)
    assert not torch.equal(model.student.backbone.conv1.conv.weight, student_before)
    assert dtypes == [torch.bfloat16] * 2
    for losses in log:
        assert losses['loss_distill_enc'].dtype == torch.float32
        assert math.isfinite(float(losses['loss_distill_enc']))


@needs_cpu
def test_bfloat16_teacher_under_amp_keeps_float32_losses():
    model = make_distiller(teacher_dtype='bfloat16')
    model.train()
    wrapper = AnyDeviceAmpOptimWrapper(optimizer=torch.optim.AdamW(model.parameters(), lr=1e-3))
    dtypes = []
    model.student.backbone.register_forward_hook(lambda m, i, o: dtypes.append(o[-1].dtype))
    for losses in _train_steps(model, wrapper, steps=1):
        assert {v.dtype for v in losses.values()} == {torch.float32}
        assert all(math.isfinite(float(v)) for v in losses.values())
    assert dtypes == [torch.bfloat16]


def test_half_teacher_features_match_float32_teacher_to_their_precision():
    """Same real ImageNet weights, same input: the half-precision teachers' features
    differ from the float32 ones by their rounding, bfloat16 (8-bit significand)
    clearly more than float16 (11-bit); both are far from bit-identical (they did
    run in half precision) and point the same way."""
    inputs, _ = depth_batch(b=2, h=64, w=96)
    feats = {}
    for dtype in (None, 'bfloat16', 'float16'):
        teacher = make_distiller(teacher_dtype=dtype).teachers['teacher']
        assert teacher.prepare(inputs).dtype == getattr(torch, dtype or 'float32')
        feats[dtype] = teacher(inputs)['features.18']
        assert feats[dtype].dtype == torch.float32
    ref = feats[None]
    rel = {k: float((feats[k] - ref).norm() / ref.norm()) for k in ('bfloat16', 'float16')}
    cos = {k: float(torch.nn.functional.cosine_similarity(feats[k].flatten(), ref.flatten(),
                                                          dim=0))
           for k in ('bfloat16', 'float16')}
    # measured here: rel 0.12 (bf16) and 0.013 (fp16), cosine 0.993 and 0.9999
    assert 1e-3 < rel['float16'] < 0.05 and rel['bfloat16'] < 0.25, rel
    assert rel['bfloat16'] > 3 * rel['float16'], rel
    assert cos['bfloat16'] > 0.98 and cos['float16'] > 0.999, cos


def test_teacher_dtype_float16_casts_weights():
    model = make_distiller(teacher_dtype='float16', teacher_ckpt=False)
    assert {p.dtype for p in model.teacher.parameters()} == {torch.float16}
    assert model.teachers['teacher'].prepare(torch.zeros(1, 3, 32, 32)).dtype == torch.float16


@pytest.mark.parametrize('value,expected', [(None, None), ('bfloat16', torch.bfloat16),
                                            ('float16', torch.float16),
                                            (torch.bfloat16, torch.bfloat16)])
def test_parse_teacher_dtype(value, expected):
    assert parse_teacher_dtype(value) is expected


def test_invalid_teacher_dtype_is_refused():
    with pytest.raises(ValueError, match=r"\(`teacher_dtype`, or `dtype` of a FrozenTeacher\) "
                                         r"must be one of \('bfloat16', 'float16'\) or None, "
                                         r"got 'float32'"):
        make_distiller(teacher_dtype='float32', teacher_ckpt=False)


@pytest.mark.parametrize('loss_cfg,n_inputs', [
    (dict(type='PKTLoss'), 2), (dict(type='PKTLoss', pool=False), 2), (dict(type='ATLoss'), 2),
    (dict(type='FitNetsLoss'), 2), (dict(type='SpectralLoss', rank=2, method='svd'), 1)])
def test_losses_ignore_cpu_autocast(loss_cfg, n_inputs):
    """Inside the CPU's bfloat16 autocast (what `--amp` enters) every KD loss gives its
    float32 value: the loss forwards switch autocast off, so PKT's cosine kernel or the
    spectral SVD input are not rounded to bfloat16 (8-bit mantissa)."""
    from mmkd_invproj.registry import MODELS as REGISTRY
    loss = REGISTRY.build(loss_cfg)
    gen = torch.Generator().manual_seed(0)
    feats = [torch.randn(4, 16, 6, 6, generator=gen) + 1.0 for _ in range(n_inputs)]
    reference = loss(*feats)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert torch.is_autocast_enabled('cpu')
        amp_value = loss(*feats)
        if loss_cfg['type'] == 'PKTLoss':  # the decorated function, undecorated
            undecorated = pkt_loss.__wrapped__(*feats, pool=loss.pool)
        assert torch.is_autocast_enabled('cpu')  # restored after the loss
    assert amp_value.dtype == torch.float32
    torch.testing.assert_close(amp_value, reference, rtol=1e-6, atol=1e-7)
    if loss_cfg['type'] == 'PKTLoss':  # without the decorator the kernel runs in bfloat16
        assert not torch.allclose(undecorated.float(), reference, rtol=1e-4, atol=0)


def _loss_inputs(name):
    gen = torch.Generator().manual_seed(1)
    if name == 'scale_invariant_log_loss':  # depths in metres, > 0
        return [torch.rand(2, 1, 6, 6, generator=gen) * 9 + 0.5 for _ in range(2)]
    if name == 'spectral_residual':  # an (N, D) feature matrix
        return [torch.randn(40, 16, generator=gen) + 1.0]
    return [torch.randn(4, 16, 6, 6, generator=gen) + 1.0 for _ in range(2)]


@pytest.mark.parametrize('name,kwargs', [
    ('pkt_loss', {}), ('pkt_loss', dict(pool=False)), ('at_loss', {}),
    ('scale_invariant_log_loss', {}), ('spectral_residual', dict(rank=2, method='svd'))])
def test_public_loss_functions_compute_in_float32_under_cpu_autocast(name, kwargs):
    """Called directly (not through a loss module), each public loss function keeps
    its docstring's promise: float32 under bfloat16 autocast and for half inputs.
    Before: ``pkt_loss`` ran its cosine kernel in bfloat16 under autocast (only
    ``pkt_rows`` was decorated) and returned a bfloat16 value (pooled: -1.3e-3 for a
    float32 value of 1.2e-5; per pixel: 0.0112 for 0.0110)."""
    import mmkd_invproj.losses as losses
    fn = getattr(losses, name)
    feats = _loss_inputs(name)
    reference = fn(*feats, **kwargs)
    assert reference.dtype == torch.float32
    with torch.autocast('cpu', dtype=torch.bfloat16):
        amp_value = fn(*feats, **kwargs)
        assert torch.is_autocast_enabled('cpu')  # restored after the call
    assert amp_value.dtype == torch.float32
    torch.testing.assert_close(amp_value, reference, rtol=1e-6, atol=1e-7)
    # bfloat16 inputs: exactly the float32 value of the same (rounded) numbers
    half = [f.bfloat16() for f in feats]
    value = fn(*half, **kwargs)
    assert value.dtype == torch.float32
    assert torch.equal(value, fn(*[h.float() for h in half], **kwargs))

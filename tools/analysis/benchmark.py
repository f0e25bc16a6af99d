# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Time what cross-task distillation costs on top of training the student alone.

    python tools/analysis/benchmark.py CONFIG [--batch B] [--input-size H W]
        [--warmup N] [--iters N] [--spectral-rank R] [--amp] [--teacher-dtype DT]
        [--json OUT] [--cfg-options model.teacher.weights=None ...]

In one process and one run it times the median training step (forward + backward +
optimizer step, models in train mode, the teacher in eval as always) of

    (a) the student alone (its own MMSeg model built from ``model.student``),
    (b) the teacher's forward alone, stopped after its last hooked module
        (``CrossTaskDistiller.run_teacher`` with early exit),
    (c) the teacher's full forward (the same call with early exit switched off),
    (d) the full distillation step (``CrossTaskDistiller``, the config's pairs),
    (e) (d) plus a teacher-free ``SpectralLoss`` pair (rank ``--spectral-rank``) on
        the student's decoder input (``decode_head.conv_in``'s input; the config's
        own SpectralLoss pair if it has one),

and the peak memory of (a) and (d). The last line printed is exactly::

    overhead = X.XXX, early_exit = Y.YYY, spectral = Z.ZZZ

with overhead = (d) / ((a) + (b)), early_exit = (b) / (c), spectral = (e) / (d),
each from the medians.

Method:

* **Steps** are what ``BaseModel.train_step`` does after the data preprocessor:
  ``optim_context`` (autocast under ``--amp``), ``model(inputs, samples,
  mode='loss')``, ``parse_losses``, ``optim_wrapper.update_params``; the optimizer
  wrapper is built from the config's ``optim_wrapper`` for each model. The batch is
  preprocessed once, outside the timers (the same for every phase).
* **Inputs**: real RGB frames (``../shared/data/nyu_mini`` and
  ``../shared/data/raw/nyu_rgb_only``, or ``--images DIR``), resized to
  ``--input-size`` and cycled to fill the batch, through the config's own data
  preprocessor (BGR->RGB, ImageNet mean/std, padding to the size divisor). Without
  those images (e.g. on a machine without ``shared/``) the inputs are standard
  normal noise of the preprocessed shape (``--random-input`` forces it).
  **Targets** are synthetic depth maps in metres: a vertical ramp from 1 m to 9 m
  plus a horizontal ripple, all pixels valid.
* **Timing**: the phases are interleaved round by round (one step of each phase per
  round, the order rotated every round), so a load change on a shared machine hits
  all phases alike; ``--warmup`` rounds are discarded, ``--iters`` rounds are timed
  with ``time.perf_counter`` (``torch.cuda.synchronize`` around each step on a GPU),
  garbage collection is paused inside the timers. The table gives the median, the
  quartiles and the extremes per phase, and the quartiles of the per-round ratios as
  the spread of the three ratios.
* **Two clocks** per step: the wall clock, and the CPU time of the process
  (``time.process_time``, all threads). On a CPU shared with other jobs the wall
  clock measures the share of the cores the benchmark got; the CPU time moves much
  less (cache and memory-bandwidth contention still move it). ``--clock`` picks the
  clock of the last line (default ``wall``; use ``--threads 1 --clock cpu`` on a
  busy machine: with several threads, time spent spinning in OpenMP barriers while a
  sibling thread is descheduled counts as CPU time).
* **Extra work alone**: after the timed rounds, the projectors + losses of (d) and
  the spectral pair that (e) adds run alone (``distill_losses_from_features`` and its
  backward on detached copies of the recorded student features), ``--extra-iters``
  times. Being short, they are timed precisely; ``(a + b + x_d) / (a + b)`` and
  ``(d + x_e) / d`` estimate the overhead and spectral ratios without the noise of
  differencing two whole steps (they leave out the projector's optimizer update and
  the hooks' Python calls).
* **Peak memory** of (a) and (d), after the timing, one step each, as
  ``static + step peak``: ``static`` counts the bytes of the model's parameters,
  buffers and optimizer state (exact, from the tensors); ``step peak`` is the
  largest growth during one step. On CUDA: ``torch.cuda.max_memory_allocated``
  after ``reset_peak_memory_stats``, minus the allocation before the step. On a
  CPU two figures: ``tensors``, the peak of the live bytes of PyTorch's CPU
  allocator over the step, from ``torch.profiler``'s memory events (exact for
  tensors; misses memory that oneDNN/OpenMP allocate outside PyTorch's
  allocator); and ``rss``, the growth of the process's peak resident set
  (``VmHWM`` reset through ``/proc/self/clear_refs`` after ``malloc_trim(0)``,
  minus ``VmRSS`` before the step), which counts everything the process touches
  but also allocator fragmentation, and undercounts pages that glibc reuses
  without returning them to the system.

Build offline by passing ``--cfg-options model.teacher.weights=None`` (the timing
does not depend on the teacher's weights).
"""
import argparse
import contextlib
import copy
import ctypes
import gc
import glob
import json
import os
import os.path as osp
import platform
import re
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, REPO)

PHASES = ('a', 'b', 'c', 'd', 'e')
PHASE_NAMES = {
    'a': 'student step (student alone)',
    'b': 'teacher forward, early exit',
    'c': 'teacher forward, full',
    'd': 'distillation step',
    'e': 'distillation + spectral step',
}
MiB = 2.0**20
#: the two clocks every step is timed with (see time_once)
CLOCKS = ('wall', 'cpu')


# ---------------------------------------------------------------- configuration
def load_config(path: str, cfg_options: Optional[dict] = None, amp: bool = False,
                amp_dtype: str = 'bfloat16', teacher_dtype: Optional[str] = None):
    """Read a distillation config, apply overrides and the AMP switch.

    Args:
        path (str): Config file of a ``CrossTaskDistiller`` model with a teacher.
        cfg_options (dict, optional): ``--cfg-options`` overrides.
        amp (bool): Replace ``optim_wrapper.type`` by the AMP wrapper of this
            machine (MMEngine's ``AmpOptimWrapper`` on a GPU,
            ``AnyDeviceAmpOptimWrapper`` on a CPU), autocast dtype ``amp_dtype``.
        amp_dtype (str): ``'bfloat16'`` or ``'float16'`` (GPU only).
        teacher_dtype (str, optional): Sets ``model.teacher_dtype``.

    Returns:
        mmengine.Config

    Raises:
        ValueError: when the model is not a ``CrossTaskDistiller`` with a teacher
            and at least one teacher pair.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = cfg.get('model', {})
    if model.get('type') != 'CrossTaskDistiller' or model.get('teacher') is None:
        raise ValueError(f'{path}: the benchmark needs a CrossTaskDistiller model with a '
                         f'teacher, got model type {model.get("type")!r}')
    if not any(p.get('teacher') for p in model.get('distill_pairs', [])):
        raise ValueError(f'{path}: no distill pair names a teacher module; nothing to time '
                         'for the teacher phases (b) and (c)')
    if teacher_dtype is not None:
        cfg.model.teacher_dtype = None if teacher_dtype == 'none' else teacher_dtype
    if amp:
        from mmkd_invproj.engine import amp_optim_wrapper_type
        cfg.optim_wrapper.type = amp_optim_wrapper_type()
        cfg.optim_wrapper.dtype = amp_dtype
    return cfg


def spectral_pair(rank: int, module: str = 'decode_head.conv_in',
                  source: str = 'input') -> dict:
    """The teacher-free pair of phase (e): ``SpectralLoss`` on one student feature."""
    return dict(name='bench_spectral', student=module, student_source=source,
                loss=dict(type='SpectralLoss', rank=int(rank)))


def split_pairs(pairs: Sequence[dict], rank: int, module: str,
                source: str) -> Tuple[List[dict], List[dict]]:
    """Pairs of phases (d) and (e): (d) drops any SpectralLoss pair of the config,
    (e) adds the config's own SpectralLoss pair(s), or :func:`spectral_pair`."""
    pairs = [copy.deepcopy(dict(p)) for p in pairs]
    spectral = [p for p in pairs if p['loss'].get('type') == 'SpectralLoss']
    plain = [p for p in pairs if p['loss'].get('type') != 'SpectralLoss']
    return plain, plain + (spectral or [spectral_pair(rank, module, source)])


def build_models(cfg, device: torch.device, spectral_rank: int = 2,
                 spectral_module: str = 'decode_head.conv_in',
                 spectral_source: str = 'input') -> Dict[str, torch.nn.Module]:
    """Build the three trained models with the library's builders, in train mode.

    Returns:
        dict: ``student`` (the plain MMSeg student of phase (a)), ``distill``
        (phases (b), (c), (d)), ``spectral`` (phase (e)), all on ``device``.
    """
    from mmengine.registry import init_default_scope

    import mmkd_invproj  # noqa: F401  (registers the plugin)
    from mmkd_invproj.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    d_pairs, e_pairs = split_pairs(cfg.model.distill_pairs, spectral_rank, spectral_module,
                                   spectral_source)
    d_cfg = copy.deepcopy(cfg.model)
    d_cfg.distill_pairs = d_pairs
    e_cfg = copy.deepcopy(cfg.model)
    e_cfg.distill_pairs = e_pairs
    models = dict(student=MODELS.build(copy.deepcopy(cfg.model.student)),
                  distill=MODELS.build(d_cfg), spectral=MODELS.build(e_cfg))
    for m in models.values():
        m.to(device)
        m.train()
    return models


def build_optim_wrappers(cfg, models: Dict[str, torch.nn.Module]) -> dict:
    """One optimizer wrapper per model, from the config's ``optim_wrapper``."""
    from mmengine.optim import build_optim_wrapper
    return {k: build_optim_wrapper(m, copy.deepcopy(cfg.optim_wrapper))
            for k, m in models.items()}


# ---------------------------------------------------------------- data
def default_image_dirs() -> List[str]:
    """Where the real frames are looked for (``MMKD_SHARED`` or ``../shared``)."""
    shared = osp.abspath(os.environ.get('MMKD_SHARED', osp.join(REPO, '..', 'shared')))
    return [osp.join(shared, 'data', 'nyu_mini', 'images'),
            osp.join(shared, 'data', 'raw', 'nyu_rgb_only')]


def load_frames(dirs: Sequence[str], batch: int, hw: Tuple[int, int]) -> List[np.ndarray]:
    """``batch`` real BGR uint8 frames (H, W, 3) resized to ``hw``; [] when none exist."""
    import mmcv
    files = sorted(f for d in dirs for f in glob.glob(osp.join(d, '**', '*'), recursive=True)
                   if f.lower().endswith(('.jpg', '.jpeg', '.png')))
    if not files:
        return []
    frames = []
    for i in range(batch):
        img = mmcv.imread(files[i % len(files)], channel_order='bgr')
        frames.append(mmcv.imresize(img, (hw[1], hw[0])))  # mmcv takes (w, h)
    return frames


def synthetic_depth(hw: Tuple[int, int], index: int = 0) -> torch.Tensor:
    """A (1, H, W) depth map in metres: a vertical 1 m -> 9 m ramp plus a ripple."""
    h, w = hw
    ys = torch.linspace(1.0, 9.0, h)[:, None]
    xs = torch.linspace(0.0, 2 * np.pi * (1 + index % 3), w)[None, :]
    return (ys + 0.3 * torch.sin(xs)).clamp(min=0.5)[None].float()


def make_batch(model, batch: int, hw: Tuple[int, int], image_dirs: Sequence[str],
               random_input: bool = False, seed: int = 0):
    """A preprocessed training batch for ``model`` (its own data preprocessor).

    Returns:
        tuple: ``(inputs (B, 3, H', W') float, data_samples, source)`` where
        ``source`` says where the pixels came from.
    """
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    h, w = hw
    frames = [] if random_input else load_frames(image_dirs, batch, hw)
    samples = []
    for i in range(batch):
        s = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        s.gt_depth_map = PixelData(data=synthetic_depth(hw, i))
        samples.append(s)
    if frames:
        imgs = [torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1))) for f in frames]
        source = f'{len(frames)} real frames resized to {h}x{w}'
    else:
        imgs = [torch.zeros(3, h, w, dtype=torch.uint8) for _ in range(batch)]
        source = f'standard normal noise {h}x{w} (no frames found)'
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), True)
    inputs = data['inputs']
    if not frames:
        gen = torch.Generator().manual_seed(seed)
        inputs = torch.randn(inputs.shape, generator=gen).to(inputs.device)
    return inputs, data['data_samples'], source


# ---------------------------------------------------------------- steps
def train_step(model, optim_wrapper, inputs: torch.Tensor, data_samples) -> torch.Tensor:
    """``BaseModel.train_step`` after preprocessing: forward, loss, backward, step."""
    with optim_wrapper.optim_context(model):
        losses = model(inputs, data_samples, mode='loss')
    loss, _ = model.parse_losses(losses)
    optim_wrapper.update_params(loss)
    return loss


def teacher_forward(distiller, inputs: torch.Tensor, early_exit: bool, autocast_ctx) -> None:
    """The distiller's teacher forward (no grad, features recorded), with or without
    early exit."""
    recorder = distiller.teacher_recorder
    saved = recorder.early_exit
    recorder.early_exit = early_exit
    try:
        with autocast_ctx():
            distiller.run_teacher(inputs)
    finally:
        recorder.early_exit = saved


def amp_context(optim_wrapper, amp: bool) -> Callable[[], contextlib.AbstractContextManager]:
    """A factory of the autocast context the optimizer wrapper's steps run under."""
    if not amp:
        return contextlib.nullcontext
    dtype = optim_wrapper.cast_dtype

    def autocast_ctx():
        from mmengine.runner.amp import autocast
        return autocast(dtype=dtype)
    return autocast_ctx


def make_phases(models: dict, wrappers: dict, inputs: torch.Tensor, data_samples,
                amp: bool) -> Dict[str, Callable[[], object]]:
    """The five timed callables (a)-(e)."""
    distill = models['distill']
    autocast_ctx = amp_context(wrappers['distill'], amp)
    return {
        'a': lambda: train_step(models['student'], wrappers['student'], inputs, data_samples),
        'b': lambda: teacher_forward(distill, inputs, True, autocast_ctx),
        'c': lambda: teacher_forward(distill, inputs, False, autocast_ctx),
        'd': lambda: train_step(distill, wrappers['distill'], inputs, data_samples),
        'e': lambda: train_step(models['spectral'], wrappers['spectral'], inputs, data_samples),
    }


def _detach_tree(x):
    """Leaf copies of every tensor in a (nested) module output, requiring grad."""
    if torch.is_tensor(x):
        return x.detach().requires_grad_(x.is_floating_point())
    if isinstance(x, (list, tuple)):
        return type(x)(_detach_tree(v) for v in x)
    if isinstance(x, dict):
        return {k: _detach_tree(v) for k, v in x.items()}
    return x


def make_extra_phases(models: dict, inputs: torch.Tensor, data_samples,
                      amp_ctx=contextlib.nullcontext) -> Dict[str, Callable[[], object]]:
    """The work (d) adds to (a) + (b), and (e) adds to (d), timed in isolation.

    Records the features of one forward (no step), then returns callables that run
    ``CrossTaskDistiller.distill_losses_from_features`` (projectors + losses, the
    distiller's own code) and its backward on detached copies of the student
    features: their backward through the student is part of (a) in any case.

    Returns:
        dict: ``'pairs_d'`` (the pairs of (d)) and ``'spectral_e'`` (the pairs (e)
        adds), each a callable doing forward + backward.
    """
    out = {}
    d_names = {p.name for p in models['distill'].pairs}
    for key, model, keep in (('pairs_d', models['distill'], None),
                             ('spectral_e', models['spectral'], d_names)):
        with torch.no_grad(), amp_ctx():
            teacher_hw = model.run_teacher(inputs)
            with model.student_recorder:
                model.student.loss(inputs, data_samples)
        rec = model.student_recorder
        rec._features = {k: _detach_tree(v) for k, v in rec._features.items()}
        pairs = [p for p in model.pairs if keep is None or p.name not in keep]

        def run(model=model, pairs=pairs, teacher_hw=teacher_hw):
            saved, model.pairs = model.pairs, pairs
            try:
                with amp_ctx():
                    losses = model.distill_losses_from_features(inputs.shape[-2:], teacher_hw)
                sum(losses.values()).backward()
            finally:
                model.pairs = saved
        out[key] = run
    return out


# ---------------------------------------------------------------- timing
def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_once(fn: Callable[[], object], device: torch.device) -> Tuple[float, float]:
    """Seconds of one call of ``fn``: ``(wall clock, CPU time of this process)``.

    The wall clock includes the device's work (synchronised on a GPU). The CPU time
    (``time.process_time``: user + system time of all threads of the process) is
    what the step cost the CPU; on a machine shared with other jobs it hardly moves
    when they take cores away, unlike the wall clock.
    """
    synchronize(device)
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    synchronize(device)
    return time.perf_counter() - t0, time.process_time() - c0


def time_interleaved(phases: Dict[str, Callable[[], object]], warmup: int, iters: int,
                     device: torch.device) -> Dict[str, Dict[str, List[float]]]:
    """Per-phase step times (seconds) of ``iters`` rounds after ``warmup`` rounds.

    Each round runs every phase once, starting at phase ``round % n`` (rotated), so
    slow drifts and the order of phases affect all of them alike. Python's garbage
    collector runs between rounds, not inside the timers.

    Returns:
        dict: ``{'wall': {phase: [seconds] * iters}, 'cpu': {...}}`` in round order
        (see :func:`time_once` for the two clocks).
    """
    keys = list(phases)
    times: Dict[str, Dict[str, List[float]]] = {c: {k: [] for k in keys} for c in CLOCKS}
    gc_was_enabled = gc.isenabled()
    try:
        for r in range(warmup + iters):
            gc.collect()
            gc.disable()
            order = keys[r % len(keys):] + keys[:r % len(keys)]
            for k in order:
                wall, cpu = time_once(phases[k], device)
                if r >= warmup:
                    times['wall'][k].append(wall)
                    times['cpu'][k].append(cpu)
            gc.enable()
    finally:
        if gc_was_enabled:
            gc.enable()
    return times


def quantiles(values: Sequence[float]) -> Dict[str, float]:
    """min, 25 %, median, 75 %, max of ``values`` (linear interpolation)."""
    v = np.asarray(values, dtype=np.float64)
    q = np.percentile(v, [0, 25, 50, 75, 100])
    return dict(min=q[0], p25=q[1], median=q[2], p75=q[3], max=q[4])


def compute_ratios(med: Dict[str, float]) -> Dict[str, float]:
    """overhead = d / (a + b), early_exit = b / c, spectral = e / d."""
    return dict(overhead=med['d'] / (med['a'] + med['b']), early_exit=med['b'] / med['c'],
                spectral=med['e'] / med['d'])


def per_round_ratios(times: Dict[str, List[float]]) -> Dict[str, List[float]]:
    """The three ratios of every round (the spread of the ratios)."""
    n = min(len(v) for v in times.values())
    rounds = [compute_ratios({k: times[k][i] for k in times}) for i in range(n)]
    return {k: [r[k] for r in rounds] for k in ('overhead', 'early_exit', 'spectral')}


# ---------------------------------------------------------------- memory
def static_bytes(model: torch.nn.Module, optim_wrapper=None) -> int:
    """Bytes of the parameters, buffers and optimizer state (each storage once)."""
    seen, total = set(), 0
    tensors = list(model.parameters()) + list(model.buffers())
    if optim_wrapper is not None:
        for state in optim_wrapper.optimizer.state.values():
            tensors += [v for v in state.values() if torch.is_tensor(v)]
    for t in tensors:
        key = (t.untyped_storage().data_ptr(), t.device)
        if key in seen:
            continue
        seen.add(key)
        total += t.untyped_storage().nbytes()
    return total


def _proc_status_kib(field: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            m = re.search(rf'^{field}:\s+(\d+) kB', f.read(), re.M)
        return int(m.group(1)) if m else None
    except OSError:
        return None


def rss_step_peak(fn: Callable[[], object]) -> Optional[int]:
    """Growth in bytes of the peak RSS over one call of ``fn`` (Linux only).

    ``malloc_trim(0)`` first hands freed heap pages back to the system, then
    ``/proc/self/clear_refs`` (``5``) resets ``VmHWM`` to the current RSS.

    Returns:
        int or None: ``VmHWM`` after the call minus ``VmRSS`` before it; None where
        ``/proc`` or the reset is not available.
    """
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except OSError:
        pass
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        return None
    before = _proc_status_kib('VmRSS')
    fn()
    peak = _proc_status_kib('VmHWM')
    if before is None or peak is None:
        return None
    return max(peak - before, 0) * 1024


def tensor_step_peak(fn: Callable[[], object]) -> Optional[int]:
    """Peak growth in bytes of live CPU tensor memory over one call of ``fn``.

    Replays ``torch.profiler``'s memory events (every allocation and free of
    PyTorch's CPU allocator, with its time) and returns the maximum of their running
    sum. None if this profiler build records no memory events.
    """
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    try:
        events = prof.profiler.kineto_results.events()
        mem = sorted((e.start_ns(), e.nbytes()) for e in events
                     if e.name() == '[memory]' and e.device_type() == torch.autograd.DeviceType.CPU)
    except AttributeError:
        return None
    if not mem:
        return None
    running = peak = 0
    for _, nbytes in mem:
        running += nbytes
        peak = max(peak, running)
    return peak


def cuda_step_peak(fn: Callable[[], object], device: torch.device) -> int:
    """Peak growth of ``torch.cuda.memory_allocated`` in bytes over one call."""
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    fn()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - before


def measure_memory(phase_fn: Callable[[], object], model, optim_wrapper,
                   device: torch.device) -> Dict[str, Optional[float]]:
    """``static`` and one step's peak growth of a phase, in MiB (see module doc)."""
    out: Dict[str, Optional[float]] = dict(static=static_bytes(model, optim_wrapper) / MiB)
    if device.type == 'cuda':
        out['step_cuda'] = cuda_step_peak(phase_fn, device) / MiB
        out['total'] = out['static'] + out['step_cuda']
        return out
    rss = rss_step_peak(phase_fn)
    tensors = tensor_step_peak(phase_fn)
    out['step_rss'] = None if rss is None else rss / MiB
    out['step_tensors'] = None if tensors is None else tensors / MiB
    if tensors is not None:
        out['total'] = out['static'] + out['step_tensors']
    return out


# ---------------------------------------------------------------- report
def machine_description(device: torch.device) -> str:
    if device.type == 'cuda':
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or 'CPU'
        try:
            with open('/proc/cpuinfo') as f:
                m = re.search(r'^model name\s*:\s*(.+)$', f.read(), re.M)
            name = m.group(1).strip() if m else name
        except OSError:
            pass
    return (f'{name}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, '
            f'torch {torch.__version__}')


def format_times(times: Dict[str, List[float]], batch: int, clock: str) -> List[str]:
    """The per-phase table of one clock (milliseconds; images/s for the steps)."""
    header = (f'{clock + " clock":<36} {"median ms":>10} {"p25":>9} {"p75":>9} {"min":>9} '
              f'{"max":>9} {"img/s":>8}')
    lines = [header, '-' * len(header)]
    for k in PHASES:
        q = quantiles(times[k])
        ips = f'{batch / q["median"]:8.1f}' if k in 'ade' else f'{"":>8}'
        lines.append(f'({k}) {PHASE_NAMES[k]:<32} {1e3 * q["median"]:10.1f} '
                     f'{1e3 * q["p25"]:9.1f} {1e3 * q["p75"]:9.1f} {1e3 * q["min"]:9.1f} '
                     f'{1e3 * q["max"]:9.1f} {ips}')
    return lines


def ratio_line(ratios: Dict[str, float]) -> str:
    """``overhead = X.XXX, early_exit = Y.YYY, spectral = Z.ZZZ``."""
    return (f'overhead = {ratios["overhead"]:.3f}, early_exit = {ratios["early_exit"]:.3f}, '
            f'spectral = {ratios["spectral"]:.3f}')


def format_report(times: Dict[str, Dict[str, List[float]]], memory: Dict[str, dict],
                  batch: int, info: Dict[str, str], clock: str = 'wall',
                  extra: Optional[Dict[str, Dict[str, List[float]]]] = None) -> List[str]:
    """The lines printed; the last one is the ``overhead = ...`` line of ``clock``."""
    lines = [f'{k}: {v}' for k, v in info.items()]
    other = [c for c in CLOCKS if c != clock]
    for c in other + [clock]:
        lines += [''] + format_times(times[c], batch, c)
    lines.append('')
    for k, m in memory.items():
        parts = [f'static {m["static"]:.1f}']
        for key, label in (('step_cuda', 'step peak (cuda)'),
                           ('step_tensors', 'step peak (tensors)'),
                           ('step_rss', 'step peak (rss)')):
            if key in m:
                parts.append(f'{label} ' + ('n/a' if m[key] is None else f'{m[key]:.1f}'))
        if m.get('total') is not None:
            parts.append(f'total {m["total"]:.1f}')
        lines.append(f'peak memory ({k}) {PHASE_NAMES[k]}: ' + ', '.join(parts) + ' MiB')
    for c in other + [clock]:
        spread = {k: quantiles(v) for k, v in per_round_ratios(times[c]).items()}
        lines.append(f'{c} clock, per-round ratios (p25 .. p75): ' + ', '.join(
            f'{k} {s["p25"]:.3f} .. {s["p75"]:.3f}' for k, s in spread.items()))
    for c in (other + [clock]) if extra else []:
        r = component_ratios(median_times(times[c]), extra[c])
        lines.append(f'{c} clock, extra work timed alone ({len(extra[c]["pairs_d"])} reps): '
                     f'pairs of (d) {r["pairs_d_ms"]:.2f} ms, spectral pair of (e) '
                     f'{r["spectral_e_ms"]:.2f} ms -> overhead ~ {r["overhead"]:.3f}, '
                     f'spectral ~ {r["spectral"]:.3f}')
    for c in other:
        lines.append(f'{c} clock, medians: '
                     + ratio_line(compute_ratios(median_times(times[c]))))
    lines.append(ratio_line(compute_ratios(median_times(times[clock]))))
    return lines


def component_ratios(med: Dict[str, float], extra: Dict[str, List[float]]) -> Dict[str, float]:
    """overhead and spectral estimated from the extra work timed alone:
    ``(a + b + x_d) / (a + b)`` and ``(d + x_e) / d`` (x: median extra seconds)."""
    x_d, x_e = statistics.median(extra['pairs_d']), statistics.median(extra['spectral_e'])
    return dict(overhead=(med['a'] + med['b'] + x_d) / (med['a'] + med['b']),
                spectral=(med['d'] + x_e) / med['d'], pairs_d_ms=1e3 * x_d,
                spectral_e_ms=1e3 * x_e)


def median_times(times: Dict[str, List[float]]) -> Dict[str, float]:
    """Median seconds per phase."""
    return {k: statistics.median(v) for k, v in times.items()}


def run_benchmark(cfg, batch: int = 2, input_size: Tuple[int, int] = (224, 288),
                  warmup: int = 3, iters: int = 10, spectral_rank: int = 2,
                  spectral_module: str = 'decode_head.conv_in',
                  spectral_source: str = 'input', amp: bool = False,
                  device: Optional[str] = None, image_dirs: Optional[Sequence[str]] = None,
                  random_input: bool = False, measure_mem: bool = True,
                  extra_iters: int = 30) -> dict:
    """Build, time and measure; returns everything :func:`format_report` needs.

    Returns:
        dict: ``times`` (clock -> phase -> seconds), ``memory`` (phase -> MiB figures),
        ``ratios`` and ``medians_s`` per clock, ``info`` (what ran where).
    """
    dev = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    torch.manual_seed(0)
    models = build_models(cfg, dev, spectral_rank, spectral_module, spectral_source)
    wrappers = build_optim_wrappers(cfg, models)
    inputs, samples, source = make_batch(models['distill'], batch, tuple(input_size),
                                         image_dirs or default_image_dirs(), random_input)
    phases = make_phases(models, wrappers, inputs, samples, amp)
    times = time_interleaved(phases, warmup, iters, dev)
    memory = {}
    if measure_mem:
        memory['a'] = measure_memory(phases['a'], models['student'], wrappers['student'], dev)
        memory['d'] = measure_memory(phases['d'], models['distill'], wrappers['distill'], dev)
    # the extra work of (d) and (e) alone: short, so many repetitions are cheap
    extra_phases = make_extra_phases(models, inputs, samples,
                                     amp_context(wrappers['distill'], amp))
    extra = time_interleaved(extra_phases, min(3, extra_iters), extra_iters, dev)
    distill = models['distill']
    teacher_dtype = next(distill.teacher.parameters()).dtype
    info = dict(
        machine=machine_description(dev),
        device=str(dev),
        batch=f'{batch} x {tuple(inputs.shape[1:])} ({source}); synthetic depth targets',
        teacher=f'{type(distill.teacher).__name__} ({teacher_dtype}), hooks '
                f'{distill.teacher_recorder.names}',
        pairs=', '.join(f'{p.name}: {p.student}->{p.teacher} {p.loss_cfg["type"]}'
                        for p in models['spectral'].pairs),
        optim_wrapper=f'{type(wrappers["distill"]).__name__}'
                      + (f' (autocast {wrappers["distill"].cast_dtype})' if amp else ''),
        rounds=f'{warmup} warm-up + {iters} timed, interleaved',
    )
    medians = {c: median_times(times[c]) for c in CLOCKS}
    return dict(times=times, memory=memory, info=info, batch=batch, medians_s=medians,
                ratios={c: compute_ratios(medians[c]) for c in CLOCKS}, extra=extra,
                component_ratios={c: component_ratios(medians[c], extra[c]) for c in CLOCKS})


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='distillation config (CrossTaskDistiller with a teacher)')
    p.add_argument('--batch', type=int, default=2, help='batch size (default 2)')
    p.add_argument('--input-size', type=int, nargs=2, default=(224, 288), metavar=('H', 'W'),
                   help='input height and width in pixels (default 224 288)')
    p.add_argument('--warmup', type=int, default=3, help='discarded rounds (default 3)')
    p.add_argument('--iters', type=int, default=10, help='timed rounds (default 10)')
    p.add_argument('--spectral-rank', type=int, default=2, help='r of phase (e) (default 2)')
    p.add_argument('--spectral-module', default='decode_head.conv_in',
                   help='student module of the spectral pair (default decode_head.conv_in)')
    p.add_argument('--spectral-source', default='input', choices=('input', 'output'),
                   help="take the module's input (default) or output")
    p.add_argument('--amp', action='store_true', help='mixed precision (AMP optim wrapper)')
    p.add_argument('--amp-dtype', default='bfloat16', choices=('bfloat16', 'float16'),
                   help='autocast dtype under --amp (float16 on a GPU only)')
    p.add_argument('--teacher-dtype', choices=('bfloat16', 'float16', 'none'),
                   help='sets model.teacher_dtype (teacher weights kept in half precision)')
    p.add_argument('--device', help='cpu or cuda (default: cuda when available)')
    p.add_argument('--images', nargs='+', help='folders of RGB frames (default: shared/ data)')
    p.add_argument('--random-input', action='store_true',
                   help='standard normal inputs instead of real frames')
    p.add_argument('--threads', type=int, help='torch.set_num_threads')
    p.add_argument('--clock', choices=CLOCKS, default='wall',
                   help='clock of the last line: wall (default) or cpu (process CPU time)')
    p.add_argument('--no-memory', action='store_true', help='skip the memory measurement')
    p.add_argument('--extra-iters', type=int, default=30,
                   help='repetitions of the extra work of (d) and (e) timed alone (default 30)')
    p.add_argument('--json', help='also write the figures to this JSON file')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='config overrides, e.g. model.teacher.weights=None')
    args = p.parse_args(argv)
    for name in ('batch', 'warmup', 'iters', 'extra_iters'):
        if getattr(args, name) < (0 if name == 'warmup' else 1):
            p.error(f'--{name.replace("_", "-")} must be >= {0 if name == "warmup" else 1}')
    if min(args.input_size) < 32:
        p.error(f'--input-size must be at least 32 x 32 pixels, got {args.input_size}')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.cfg_options, args.amp, args.amp_dtype,
                      args.teacher_dtype)
    res = run_benchmark(cfg, args.batch, tuple(args.input_size), args.warmup, args.iters,
                        args.spectral_rank, args.spectral_module, args.spectral_source,
                        args.amp, args.device, args.images, args.random_input,
                        not args.no_memory, args.extra_iters)
    res['info']['config'] = args.config
    lines = format_report(res['times'], res['memory'], args.batch, res['info'], args.clock,
                          res['extra'])
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({k: res[k] for k in ('times', 'memory', 'ratios', 'info', 'batch',
                                           'medians_s', 'extra', 'component_ratios')},
                      f, indent=1)
    sys.stdout.flush()
    print('\n'.join(lines), flush=True)
    return res


if __name__ == '__main__':
    main()

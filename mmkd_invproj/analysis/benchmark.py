# Copyright (c) mmkd-invproj authors. All rights reserved.
"""What cross-task distillation costs on top of training the student alone.

Five phases, each a training step as ``BaseModel.train_step`` runs it after the data
preprocessor (``optim_context``, ``model(..., mode='loss')``, ``parse_losses``,
``update_params``; models in train mode, teachers in eval as always):

    (a) the student alone (its own MMSeg model, built from ``model.student``),
    (b) the teachers' forward, stopped after their last watched module
        (``FrozenTeacher.early_exit``; no optimizer step),
    (c) the same forward without the early exit,
    (d) the distillation step (``CrossTaskDistiller``, the config's pairs),
    (e) (d) plus a teacher-free ``SpectralLoss`` pair (the config's own, or rank
        ``spectral_rank`` on the decoder input),

with ``overhead = d / (a + b)``, ``early_exit = b / c`` and ``spectral = e / d``
from the medians. The extra work of (d) and (e), the pairs' projectors and losses
and their backward (:meth:`DistillPairs.compare` on detached student maps), is also
timed alone: ``(a + b + x_d) / (a + b)`` and ``(d + x_e) / d`` estimate the same
ratios without the noise of differencing two whole steps.
"""
import contextlib
import copy
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from ..utils.images import list_images
from .timing import machine_description, measure_memory, quantiles, time_interleaved

PHASES = ('a', 'b', 'c', 'd', 'e')
PHASE_NAMES = {
    'a': 'student step (student alone)',
    'b': 'teacher forward, early exit',
    'c': 'teacher forward, full',
    'd': 'distillation step',
    'e': 'distillation + spectral step',
}


# ---------------------------------------------------------------- configuration
def load_config(path: str, cfg_options: Optional[dict] = None, amp: bool = False,
                amp_dtype: str = 'bfloat16', teacher_dtype: Optional[str] = None):
    """Read a distillation config, apply overrides and the AMP switch.

    Args:
        path (str): Config of a ``CrossTaskDistiller`` with a teacher.
        cfg_options (dict, optional): ``--cfg-options`` overrides.
        amp (bool): Use this machine's AMP optimizer wrapper (MMEngine's
            ``AmpOptimWrapper`` on a GPU, ``AnyDeviceAmpOptimWrapper`` on a CPU).
        amp_dtype (str): Autocast dtype under ``amp``: ``'bfloat16'`` or
            ``'float16'`` (GPU only).
        teacher_dtype (str, optional): Sets ``model.teacher_dtype``; ``'none'``
            unsets it.

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
    if model.get('type') != 'CrossTaskDistiller' or not (model.get('teacher')
                                                        or model.get('teachers')):
        raise ValueError(f'{path}: the benchmark needs a CrossTaskDistiller model with a '
                         f'teacher, got model type {model.get("type")!r}')
    if not any(p.get('teacher') for p in model.get('distill_pairs', [])):
        raise ValueError(f'{path}: no distill pair names a teacher module; nothing to time '
                         'for the teacher phases (b) and (c)')
    if teacher_dtype is not None:
        cfg.model.teacher_dtype = None if teacher_dtype == 'none' else teacher_dtype
    if amp:
        from ..engine import amp_optim_wrapper_type
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
    """The three trained models, built by the registry, in train mode on ``device``.

    Returns:
        dict: ``student`` (phase (a)), ``distill`` ((b), (c), (d)), ``spectral`` ((e)).
    """
    from mmengine.registry import init_default_scope

    from ..registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    d_pairs, e_pairs = split_pairs(cfg.model.distill_pairs, spectral_rank, spectral_module,
                                   spectral_source)
    models = dict(student=MODELS.build(copy.deepcopy(cfg.model.student)))
    for key, pairs in (('distill', d_pairs), ('spectral', e_pairs)):
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.distill_pairs = pairs
        models[key] = MODELS.build(model_cfg)
    for m in models.values():
        m.to(device)
        m.train()
    return models


# ---------------------------------------------------------------- data
def load_frames(dirs: Sequence[str], batch: int, hw: Tuple[int, int]) -> List[np.ndarray]:
    """``batch`` BGR uint8 frames (H, W, 3) from the images under ``dirs`` (recursively,
    :func:`~mmkd_invproj.utils.images.list_images`), resized to ``hw`` and cycled; []
    when there are none (or no such folder)."""
    import mmcv
    files = sorted(f for d in dirs if osp.isdir(d) for f in list_images(d))
    if not files:
        return []
    return [mmcv.imresize(mmcv.imread(files[i % len(files)], channel_order='bgr'),
                          (hw[1], hw[0])) for i in range(batch)]  # mmcv takes (w, h)


def synthetic_depth(hw: Tuple[int, int], index: int = 0) -> Tensor:
    """A (1, H, W) depth map in metres: a vertical 1 m -> 9 m ramp plus a ripple."""
    h, w = hw
    ys = torch.linspace(1.0, 9.0, h)[:, None]
    xs = torch.linspace(0.0, 2 * np.pi * (1 + index % 3), w)[None, :]
    return (ys + 0.3 * torch.sin(xs)).clamp(min=0.5)[None].float()


def make_batch(model, batch: int, hw: Tuple[int, int], image_dirs: Sequence[str] = (),
               seed: int = 0):
    """A preprocessed training batch for ``model`` (through its data preprocessor),
    with :func:`synthetic_depth` targets.

    Args:
        image_dirs: Folders of RGB frames; without frames the inputs are standard
            normal noise of the preprocessed shape.

    Returns:
        tuple: ``(inputs (B, 3, H', W'), data_samples, source)``; ``source`` says
        where the pixels came from.
    """
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    h, w = hw
    frames = load_frames(image_dirs, batch, hw) if image_dirs else []
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


# ---------------------------------------------------------------- phases
def train_step(model, optim_wrapper, inputs: Tensor, data_samples) -> Tensor:
    """``BaseModel.train_step`` after preprocessing: forward, loss, backward, step."""
    with optim_wrapper.optim_context(model):
        losses = model(inputs, data_samples, mode='loss')
    loss, _ = model.parse_losses(losses)
    optim_wrapper.update_params(loss)
    return loss


def teacher_forward(distiller, inputs: Tensor, early_exit: bool,
                    autocast_ctx=contextlib.nullcontext) -> None:
    """``CrossTaskDistiller.teacher_features`` with every teacher's early exit on or off."""
    teachers = [distiller.teachers[name] for name in distiller.pairs.teacher_names]
    saved = [t.early_exit for t in teachers]
    try:
        for t in teachers:
            t.early_exit = early_exit
        with autocast_ctx():
            distiller.teacher_features(inputs)
    finally:
        for t, value in zip(teachers, saved):
            t.early_exit = value


def amp_context(optim_wrapper, amp: bool) -> Callable[[], contextlib.AbstractContextManager]:
    """A factory of the autocast context the optimizer wrapper's steps run under."""
    if not amp:
        return contextlib.nullcontext

    def autocast_ctx():
        from mmengine.runner.amp import autocast
        return autocast(dtype=optim_wrapper.cast_dtype)
    return autocast_ctx


def make_phases(models: dict, wrappers: dict, inputs: Tensor, data_samples,
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


def make_extra_phases(models: dict, inputs: Tensor, data_samples,
                      autocast_ctx=contextlib.nullcontext) -> Dict[str, Callable[[], object]]:
    """The work (d) adds to (a) + (b), and (e) adds to (d), alone.

    Records one forward's teacher features and student maps, then returns callables
    running :meth:`DistillPairs.compare` (projectors + losses) and its backward on
    detached copies of the student maps (their backward through the student is part
    of (a) in any case).

    Returns:
        dict: ``'pairs_d'`` (the pairs of (d)) and ``'spectral_e'`` (the pairs (e)
        adds), each a callable doing forward + backward.
    """
    out = {}
    d_names = {spec.name for spec in models['distill'].pairs.specs}
    for key, model, skip in (('pairs_d', models['distill'], set()),
                             ('spectral_e', models['spectral'], d_names)):
        with torch.no_grad(), autocast_ctx():
            features = model.teacher_features(inputs)
            model.pairs.run_student(model.student.loss, inputs, data_samples)
            maps = model.pairs.student_maps(inputs.shape[-2:])
        maps = {k: v.detach().requires_grad_() for k, v in maps.items() if k not in skip}

        def run(pairs=model.pairs, maps=maps, features=features):
            with autocast_ctx():
                outputs = pairs.compare(maps, features)
            sum(o.loss for o in outputs.values()).backward()
        out[key] = run
    return out


# ---------------------------------------------------------------- figures
def compute_ratios(med: Dict[str, float]) -> Dict[str, float]:
    """overhead = d / (a + b), early_exit = b / c, spectral = e / d."""
    return dict(overhead=med['d'] / (med['a'] + med['b']), early_exit=med['b'] / med['c'],
                spectral=med['e'] / med['d'])


def per_round_ratios(times: Dict[str, Sequence[float]]) -> Dict[str, List[float]]:
    """The three ratios of every round (their spread)."""
    n = min(len(v) for v in times.values())
    rounds = [compute_ratios({k: times[k][i] for k in times}) for i in range(n)]
    return {k: [r[k] for r in rounds] for k in ('overhead', 'early_exit', 'spectral')}


def component_ratios(med: Dict[str, float], extra: Dict[str, float]) -> Dict[str, float]:
    """overhead and spectral from the extra work timed alone (median seconds
    ``x_d``, ``x_e``): ``(a + b + x_d) / (a + b)`` and ``(d + x_e) / d``."""
    x_d, x_e = extra['pairs_d'], extra['spectral_e']
    return dict(overhead=(med['a'] + med['b'] + x_d) / (med['a'] + med['b']),
                spectral=(med['d'] + x_e) / med['d'], pairs_d_ms=1e3 * x_d,
                spectral_e_ms=1e3 * x_e)


def ratio_line(ratios: Dict[str, float]) -> str:
    """``overhead = X.XXX, early_exit = Y.YYY, spectral = Z.ZZZ``."""
    return (f'overhead = {ratios["overhead"]:.3f}, early_exit = {ratios["early_exit"]:.3f}, '
            f'spectral = {ratios["spectral"]:.3f}')


def format_times(times: Dict[str, Sequence[float]], batch: int, clock: str) -> List[str]:
    """The per-phase table (milliseconds; images/s for the steps)."""
    header = (f'{clock + " clock":<36} {"median ms":>10} {"p25":>9} {"p75":>9} {"min":>9} '
              f'{"max":>9} {"img/s":>8}')
    lines = [header, '-' * len(header)]
    for k in PHASES:
        q = {n: 1e3 * v for n, v in quantiles(times[k]).items()}
        ips = f'{1e3 * batch / q["median"]:8.1f}' if k in 'ade' else f'{"":>8}'
        lines.append(f'({k}) {PHASE_NAMES[k]:<32} {q["median"]:10.1f} {q["p25"]:9.1f} '
                     f'{q["p75"]:9.1f} {q["min"]:9.1f} {q["max"]:9.1f} {ips}')
    return lines


def format_report(result: dict) -> List[str]:
    """The lines to print for a :func:`run_benchmark` result; the last one is the
    :func:`ratio_line` of the medians."""
    lines = [f'{k}: {v}' for k, v in result['info'].items()]
    lines += [''] + format_times(result['times'], result['batch'], result['clock']) + ['']
    for k, m in result['memory'].items():
        parts = [f'static {m["static"]:.1f}']
        for key, label in (('step_cuda', 'step peak (cuda)'),
                           ('step_tensors', 'step peak (tensors)'),
                           ('step_rss', 'step peak (rss)')):
            if key in m:
                parts.append(f'{label} ' + ('n/a' if m[key] is None else f'{m[key]:.1f}'))
        if m.get('total') is not None:
            parts.append(f'total {m["total"]:.1f}')
        lines.append(f'peak memory ({k}) {PHASE_NAMES[k]}: ' + ', '.join(parts) + ' MiB')
    spread = {k: quantiles(v) for k, v in per_round_ratios(result['times']).items()}
    lines.append('per-round ratios (p25 .. p75): ' + ', '.join(
        f'{k} {s["p25"]:.3f} .. {s["p75"]:.3f}' for k, s in spread.items()))
    if result.get('extra'):
        r = result['component_ratios']
        lines.append(f'extra work timed alone ({len(result["extra"]["pairs_d"])} rounds): '
                     f'pairs of (d) {r["pairs_d_ms"]:.2f} ms, spectral pair of (e) '
                     f'{r["spectral_e_ms"]:.2f} ms -> overhead ~ {r["overhead"]:.3f}, '
                     f'spectral ~ {r["spectral"]:.3f}')
    lines.append(ratio_line(result['ratios']))
    return lines


# ---------------------------------------------------------------- the run
def run_benchmark(cfg, batch: int = 2, input_size: Tuple[int, int] = (224, 288),
                  warmup: int = 3, iters: int = 10, spectral_rank: int = 2,
                  spectral_module: str = 'decode_head.conv_in', spectral_source: str = 'input',
                  amp: bool = False, device: Optional[str] = None,
                  image_dirs: Sequence[str] = (), clock: str = 'wall',
                  measure_mem: bool = True, extra_iters: int = 30,
                  progress: Optional[Callable[[str], None]] = None) -> dict:
    """Build the models, time the phases, measure memory and the extra work.

    Args:
        cfg: A config from :func:`load_config`.
        batch (int): Images per step.
        input_size (tuple[int, int]): (H, W) of the images in pixels.
        warmup (int): Rounds discarded.
        iters (int): Rounds timed.
        spectral_rank, spectral_module, spectral_source: The pair of phase (e)
            (:func:`spectral_pair`).
        amp (bool): Steps under the AMP optimizer wrapper's autocast.
        device (str, optional): Default: ``'cuda'`` when available, else ``'cpu'``.
        image_dirs: Folders of real frames (:func:`make_batch`).
        clock (str): ``'wall'`` or ``'cpu'`` (:data:`~.timing.CLOCKS`).
        measure_mem (bool): Measure the memory of (a) and (d) after the timing.
        extra_iters (int): Rounds of the extra work timed alone (0: skipped).
        progress (Callable[[str], None], optional): Receives progress lines.

    Returns:
        dict: ``times`` (phase -> seconds per round), ``medians_s``, ``ratios``,
        ``memory`` (phase -> MiB figures of :func:`~.timing.measure_memory`),
        ``extra`` (phase -> seconds per round) and ``component_ratios``, ``info``
        (what ran where), ``batch``, ``clock``.
    """
    say = progress or (lambda line: None)
    dev = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    torch.manual_seed(0)
    say('building the student, the distiller and the distiller with a spectral pair')
    models = build_models(cfg, dev, spectral_rank, spectral_module, spectral_source)
    from mmengine.optim import build_optim_wrapper
    wrappers = {k: build_optim_wrapper(m, copy.deepcopy(cfg.optim_wrapper))
                for k, m in models.items()}
    inputs, samples, source = make_batch(models['distill'], batch, tuple(input_size),
                                         image_dirs)
    phases = make_phases(models, wrappers, inputs, samples, amp)
    say(f'timing phases (a)-(e): {warmup} warm-up + {iters} timed rounds')
    measured = time_interleaved(phases, warmup, iters, clock, dev, say)
    times = {k: list(m.times) for k, m in measured.items()}
    medians = {k: m.median for k, m in measured.items()}
    memory = {}
    if measure_mem:
        say('measuring the peak memory of (a) and (d)')
        memory['a'] = measure_memory(phases['a'], models['student'], wrappers['student'], dev)
        memory['d'] = measure_memory(phases['d'], models['distill'], wrappers['distill'], dev)
    extra, extra_ratios = {}, {}
    if extra_iters:
        say(f'timing the extra work of (d) and (e) alone: {extra_iters} rounds')
        alone = time_interleaved(
            make_extra_phases(models, inputs, samples, amp_context(wrappers['distill'], amp)),
            min(3, extra_iters), extra_iters, clock, dev)
        extra = {k: list(m.times) for k, m in alone.items()}
        extra_ratios = component_ratios(medians, {k: m.median for k, m in alone.items()})
    distill = models['distill']
    info = dict(
        machine=machine_description(dev),
        device=str(dev),
        batch=f'{batch} x {tuple(inputs.shape[1:])} ({source}); synthetic depth targets',
        teachers='; '.join(
            f'{name}: {type(t.network).__name__} ({next(t.network.parameters()).dtype}), '
            f'watches {t.watched}' for name, t in distill.teachers.items()),
        pairs=', '.join(f'{p.name}: {p.student}->{p.teacher} {p.loss_cfg["type"]}'
                        for p in models['spectral'].pairs.specs),
        optim_wrapper=f'{type(wrappers["distill"]).__name__}'
                      + (f' (autocast {wrappers["distill"].cast_dtype})' if amp else ''),
        rounds=f'{warmup} warm-up + {iters} timed, interleaved; torch.utils.benchmark '
               f'blocked_autorange, {clock} clock',
    )
    return dict(times=times, medians_s=medians, ratios=compute_ratios(medians), memory=memory,
                extra=extra, component_ratios=extra_ratios, info=info, batch=batch,
                clock=clock)

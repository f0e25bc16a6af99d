# Copyright (c) mmkd-invproj authors. All rights reserved.
"""What a Pix2Pix / CycleGAN training step of this package costs against the official
loop, and what cross-task distillation adds to it.

Four phases of one distilled translation config, timed in one process:

* ``plain``: the official ``optimize_parameters`` as a plain PyTorch loop
  (:mod:`.reference`) on copies of the package model's networks, with
  ``torch.optim.AdamW`` of the config's settings, on the preprocessed batch;
* ``step``: the package model without distillation (the config with ``teacher=None``
  and no pairs), ``train_step`` on the raw uint8 batch with the ``OptimWrapperDict``
  the config's ``optim_wrapper`` builds (its data preprocessor included);
* ``teacher``: the frozen teacher's forward on the real input, stopped after its last
  hooked module (``teacher_features``, early exit);
* ``distill``: the distilled model's ``train_step``.

Ratios: ``step / plain`` (target <= 1.05) and ``distill / (step + teacher)`` (the
distillation overhead, target <= 1.05), each from the phases' medians.
"""
import copy
import os
from typing import Callable, Dict, Sequence

import torch
from mmengine.config import Config, ConfigDict
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.registry import DefaultScope

from ..analysis.timing import machine_description, quantiles
from ..registry import MODELS
from .reference import official_cyclegan_step, official_pix2pix_step

#: the phases, in the order of the report
PHASES = ('plain', 'step', 'teacher', 'distill')


def offline_teacher(model_cfg: dict) -> dict:
    """``model_cfg`` with a torchvision teacher's ``weights`` set to None (the timing does
    not depend on the weights; nothing is downloaded) and its checkpoint dropped."""
    cfg = copy.deepcopy(model_cfg)
    teacher = cfg.get('teacher')
    if isinstance(teacher, dict) and teacher.get('type') == 'TorchvisionTeacher':
        teacher['weights'] = None
    cfg.pop('teacher_ckpt', None)
    return cfg


def build_models(cfg: Config, size: int) -> Dict[str, torch.nn.Module]:
    """The distilled model of ``cfg`` and its baseline (no teacher, no pairs), both in
    train mode, the baseline's networks initialised identically (same seed).

    Args:
        cfg (Config): A distilled Pix2Pix / CycleGAN config.
        size (int): Side in pixels of the square images (the projector dry run uses it).

    Returns:
        dict: ``{'step': baseline, 'distill': distilled}``.
    """
    model_cfg = offline_teacher(cfg.to_dict()['model'])
    model_cfg['infer_input_size'] = (size, size)
    base_cfg = dict(model_cfg, teacher=None, teachers=None, distill_pairs=[])
    models = {}
    with DefaultScope.overwrite_default_scope('mmseg'):
        for name, c in (('step', base_cfg), ('distill', model_cfg)):
            torch.manual_seed(0)
            models[name] = MODELS.build(ConfigDict(c)).train()
    return models


def build_optim(cfg: Config, model: torch.nn.Module) -> OptimWrapperDict:
    """The ``OptimWrapperDict`` of ``cfg.optim_wrapper`` for ``model``, as a Runner
    builds it: MMEngine's ``build_optim_wrapper`` (``constructor`` and
    ``paramwise_cfg`` taken from the config) in the config's default scope (default
    ``'mmseg'``, where ``TranslationOptimWrapperConstructor`` is registered).

    Raises:
        ValueError: from ``TranslationOptimWrapperConstructor`` for groups that differ
            from the model's.
    """
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmseg')):
        return build_optim_wrapper(model, cfg.optim_wrapper)


def plain_step(cfg: Config, model: torch.nn.Module, inputs: Dict[str, torch.Tensor]
               ) -> Callable[[], object]:
    """The official loop on deep copies of ``model``'s networks (the same weights and
    architecture), optimised by ``torch.optim.AdamW`` with the config's generator and
    discriminator settings, on the preprocessed ``inputs`` (``A``, ``B``).

    Raises:
        TypeError: for a model that is neither ``Pix2Pix`` nor ``CycleGAN``.
    """
    def adamw(params, group: str):
        opt = dict(cfg.optim_wrapper[group]['optimizer'])
        opt.pop('type')
        return torch.optim.AdamW(params, **opt)

    gens = {k: copy.deepcopy(v) for k, v in model.generators.items()}
    discs = {k: copy.deepcopy(v) for k, v in model.discriminators.items()}
    opt_g = adamw([p for g in gens.values() for p in g.parameters()], 'generators')
    opt_d = adamw([p for d in discs.values() for p in d.parameters()], 'discriminators')
    real_a, real_b = inputs['A'], inputs['B']
    kind = type(model).__name__
    if kind == 'Pix2Pix':
        return lambda: official_pix2pix_step(gens['G'], discs['D'], opt_g, opt_d, real_a,
                                             real_b, model.lambda_l1)
    if kind == 'CycleGAN':
        pools = copy.deepcopy(model.fake_A_pool), copy.deepcopy(model.fake_B_pool)
        return lambda: official_cyclegan_step(
            gens['G_A'], gens['G_B'], discs['D_A'], discs['D_B'], opt_g, opt_d, real_a,
            real_b, *pools, model.lambda_A, model.lambda_B, model.lambda_identity)
    raise TypeError(f'no official loop for {kind}')


def make_phases(cfg: Config, size: int, batch: int, seed: int = 0
                ) -> Dict[str, Callable[[], object]]:
    """The four phases of the module docstring on one batch of ``batch`` random uint8
    image pairs of ``size`` x ``size`` pixels (the cost does not depend on the
    content), in the order of :data:`PHASES`."""
    models = build_models(cfg, size)
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (2, batch, 3, size, size), generator=g, dtype=torch.uint8)
    data = dict(inputs=dict(A=list(images[0]), B=list(images[1])))
    step, distill = models['step'], models['distill']
    inputs = step.data_preprocessor(copy.deepcopy(data), True)['inputs']
    teacher_input = distill.data_preprocessor.teacher_input(inputs['A'])
    optims = {k: build_optim(cfg, m) for k, m in models.items()}
    return dict(
        plain=plain_step(cfg, step, inputs),
        step=lambda: step.train_step(data, optims['step']),
        teacher=lambda: distill.teacher_features(teacher_input),
        distill=lambda: distill.train_step(data, optims['distill']))


def ratios(medians: Dict[str, float]) -> Dict[str, float]:
    """``step`` = step / plain, ``overhead`` = distill / (step + teacher)."""
    return dict(step=medians['step'] / medians['plain'],
                overhead=medians['distill'] / (medians['step'] + medians['teacher']))


def report(name: str, times: Dict[str, Sequence[float]]) -> str:
    """A phase table (median and quartiles in ms) and the ratio line of one config:
    ``<name>: step = X.XXX, overhead = Y.YYY``."""
    lines = [f'{name}', f'  {"phase":8s} {"median ms":>10s} {"p25":>8s} {"p75":>8s}']
    q = {k: quantiles(v) for k, v in times.items()}  # seconds
    for k in PHASES:
        lines.append(f'  {k:8s} {q[k]["median"] * 1e3:10.0f} {q[k]["p25"] * 1e3:8.0f} '
                     f'{q[k]["p75"] * 1e3:8.0f}')
    r = ratios({k: float(v['median']) for k, v in q.items()})
    lines.append(f'{name}: step = {r["step"]:.3f}, overhead = {r["overhead"]:.3f}')
    return '\n'.join(lines)


def load_description() -> str:
    """``'load average 1 / 5 / 15 min: a, b, c'`` (``os.getloadavg``; ``'unknown'``
    where the system has none)."""
    try:
        load = ', '.join(f'{x:.2f}' for x in os.getloadavg())
    except OSError:
        load = 'unknown'
    return f'load average 1 / 5 / 15 min: {load}'


def machine_header() -> str:
    """The machine the CPU timing ran on and its load: ``'<CPU name>, N cores, T torch
    threads, torch X; load average 1 / 5 / 15 min: a, b, c'``
    (:func:`~mmkd_invproj.analysis.timing.machine_description` and
    :func:`load_description`)."""
    return f'{machine_description(torch.device("cpu"))}; {load_description()}'

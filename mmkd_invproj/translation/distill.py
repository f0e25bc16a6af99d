# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Cross-task distillation wiring of the translation models: the only place where
they touch the shared distillation core (``FrozenTeacher``, ``DistillPairs``).

A translation model holds, beside its generators and discriminators, the frozen
teacher(s) and one ``DistillPairs`` whose student is the model's ``generators``
(:class:`~mmkd_invproj.translation.base.NetworkDict`), so a pair names its student
module with the generator first: ``'G_B.model.18'`` is the last residual block of
CycleGAN's G_B, ``'G.' + UnetGenerator.encoder_output`` the U-Net bottleneck. The
teacher sees the real input x (an RGB image in [-1, 1], see
``TranslationDataPreprocessor.teacher_input``); the student feature is recorded in
exactly one generator call, the one the model passes to :func:`distilled_call`.
"""
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper
from torch import Tensor

#: the input normalisation of every translation model, on the 0-255 scale: x = p / 127.5 - 1
GAN_INPUT_NORM = dict(mean=[127.5] * 3, std=[127.5] * 3)


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DDP-style wrapper (``.module``), or the module itself."""
    return module.module if is_model_wrapper(module) else module


def build_teachers(teacher: Optional[dict] = None,
                   teachers: Optional[Mapping[str, dict]] = None) -> Optional[nn.ModuleDict]:
    """Build the frozen teacher(s) of the config keys ``teacher`` / ``teachers``.

    Each config holds ``FrozenTeacher`` keyword arguments (``model``, ``checkpoint``,
    ``seed``, ``norm``, ``input_size``, ``dtype``, ...). Every teacher is told that its
    input batch is normalised as ``x = p / 127.5 - 1`` (``set_input_norm``), so with a
    ``norm`` of its own it undoes that and applies its own.

    Args:
        teacher (dict, optional): One teacher (named ``'teacher'``).
        teachers (Mapping[str, dict], optional): Several, by name.

    Returns:
        nn.ModuleDict | None: ``{name: FrozenTeacher}``, None without a teacher.

    Raises:
        ValueError: when both keys are given.
    """
    if teacher is not None and teachers:
        raise ValueError('give either `teacher` (one) or `teachers` (a dict by name), not both')
    cfgs = dict(teachers or {}) if teacher is None else {'teacher': teacher}
    if not cfgs:
        return None
    from ..teachers import FrozenTeacher  # the shared core (CORE_API.md)
    built = nn.ModuleDict()
    for name, cfg in cfgs.items():
        module = cfg if isinstance(cfg, nn.Module) else FrozenTeacher(**cfg)
        module.set_input_norm(GAN_INPUT_NORM['mean'], GAN_INPUT_NORM['std'])
        built[name] = module
    return built


def build_distill_pairs(pairs: Sequence[dict], student: nn.Module,
                        teachers: Optional[nn.ModuleDict]) -> Optional[nn.Module]:
    """Build the core's ``DistillPairs`` for ``student`` (the model's generators);
    None without pairs."""
    if not pairs:
        return None
    from ..distillers import DistillPairs  # the shared core (CORE_API.md)
    return DistillPairs(list(pairs), student=student, teachers=dict(teachers or {}))


def teacher_features(teachers: Optional[nn.ModuleDict],
                     teacher_input: Tensor) -> Dict[str, Dict[str, Tensor]]:
    """Each teacher once on the real input x (B, 3, H, W) in [-1, 1]."""
    return {name: t(teacher_input) for name, t in (teachers or {}).items()}


def distilled_call(teachers: Optional[nn.ModuleDict], pairs: Optional[nn.Module],
                   teacher_input: Tensor, fn: Callable[..., Any], *args,
                   **kwargs) -> Tuple[Any, Dict[str, Tensor]]:
    """Run ``fn(*args, **kwargs)`` as the distilled student call.

    The student features the pairs hook are recorded in this call only
    (``DistillPairs.run_student``): e.g. CycleGAN's ``G('G_B', fake_B)`` records
    G_B's encoder on G_A(x), not G_B's calls on real images or for the identity loss.

    Args:
        teachers: The frozen teachers (see :func:`build_teachers`).
        pairs: The ``DistillPairs`` (possibly DDP-wrapped), or None (no distillation).
        teacher_input (Tensor): The real input x, (B, 3, H, W) in [-1, 1].
        fn: The student call (a generator).

    Returns:
        tuple: (``fn``'s output, ``{'loss_distill_<name>': scalar}``; empty without
        pairs).
    """
    if pairs is None:
        return fn(*args, **kwargs), {}
    feats = teacher_features(teachers, teacher_input)
    out = unwrap(pairs).run_student(fn, *args, **kwargs)
    outputs = pairs(feats, tuple(teacher_input.shape[-2:]))  # through DDP when wrapped
    return out, unwrap(pairs).losses(outputs)


def calibrate_pairs(teachers: Optional[nn.ModuleDict], pairs: Optional[nn.Module],
                    teacher_input: Tensor, fn: Callable[[], Any]) -> None:
    """Dry run (``fn`` runs the distilled student call) that lets the pairs infer the
    projector channels; nothing is trained or kept."""
    if pairs is None:
        return
    with torch.no_grad():
        feats = teacher_features(teachers, teacher_input)
        unwrap(pairs).calibrate(fn, feats, tuple(teacher_input.shape[-2:]))

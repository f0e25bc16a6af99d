# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The checks every training run of this package gets, whatever its config says."""
from mmengine.runner import Runner

from ..hooks.annotation_check import TrainAnnotationCheckHook
from ..hooks.finite_loss import FiniteLossHook

__all__ = ['RELIABILITY_HOOKS', 'register_reliability_hooks']

#: Registered on every runner by :func:`register_reliability_hooks`.
RELIABILITY_HOOKS = (FiniteLossHook, TrainAnnotationCheckHook)


def register_reliability_hooks(runner: Runner) -> None:
    """Register :class:`FiniteLossHook` and :class:`TrainAnnotationCheckHook` on
    ``runner`` unless it has them already (e.g. from ``custom_hooks``).

    Called by ``AtomicCheckpointRunner`` (the runner of this package's configs) and by
    ``tools/train.py`` (for any config, e.g. one on a user's own MMSeg runtime).
    Neither hook changes a logged value or a checkpoint; no config key enables them.

    Args:
        runner (Runner): An MMEngine runner whose hooks are already registered.
    """
    for hook_type in RELIABILITY_HOOKS:
        if not any(isinstance(hook, hook_type) for hook in runner.hooks):
            runner.register_hook(hook_type())

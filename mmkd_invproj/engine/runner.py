# Copyright (c) mmkd-invproj authors. All rights reserved.
"""An MMEngine Runner whose checkpoints are written atomically."""
import os
import os.path as osp

from mmengine.dist import master_only
from mmengine.runner import Runner

from ..registry import RUNNERS
from .reliability import register_reliability_hooks


@RUNNERS.register_module()
class AtomicCheckpointRunner(Runner):
    """MMEngine's :class:`~mmengine.runner.Runner`, but a checkpoint never exists half-written.

    MMEngine 0.10.7 writes ``epoch_N.pth`` in place; a job killed mid-write leaves a
    truncated file that ``--resume`` then picks up and fails on. Here the checkpoint
    is written to ``<name>.tmp`` in the same directory and moved over the final name
    with :func:`os.replace` (atomic on POSIX and Windows), so ``epoch_N.pth`` is
    either the previous complete file or the new complete file. Remote backends
    (``out_dir`` not a local directory) fall back to MMEngine's own behaviour.

    It also registers :class:`~mmkd_invproj.hooks.FiniteLossHook` (stop at the first
    NaN/inf loss term) and :class:`~mmkd_invproj.hooks.TrainAnnotationCheckHook` (the
    training pipeline loads what the loss reads) unless the config has them.

    Select it with ``runner_type = 'AtomicCheckpointRunner'`` in a config (the base
    runtime of this package does).
    """

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        super().register_hooks(default_hooks, custom_hooks)
        register_reliability_hooks(self)

    @master_only  # as in MMEngine: only rank 0 writes
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        if not osp.isdir(out_dir):
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        tmp_name = f'{filename}.tmp'
        super().save_checkpoint(out_dir, tmp_name, *args, **kwargs)
        os.replace(osp.join(out_dir, tmp_name), osp.join(out_dir, filename))

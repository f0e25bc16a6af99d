# Copyright (c) mmkd-invproj authors. All rights reserved.
"""An MMEngine Runner whose checkpoints are written atomically and resume under torch >= 2.6."""
import os
import os.path as osp

from mmengine.dist import master_only
from mmengine.runner import Runner

from ..registry import RUNNERS
from ..utils.checkpoint_compat import mmengine_checkpoint_globals
from .reliability import register_reliability_hooks


@RUNNERS.register_module()
class AtomicCheckpointRunner(Runner):
    """MMEngine's :class:`~mmengine.runner.Runner` with two guarantees.

    * A checkpoint never exists half-written: MMEngine 0.10.7 writes ``epoch_N.pth``
      in place, so a job killed mid-write leaves a truncated file that ``--resume``
      picks up and fails on. Here it is written to ``<name>.tmp`` in the same
      directory and moved over the final name with :func:`os.replace` (atomic on
      POSIX and Windows). Remote backends keep MMEngine's own behaviour.
    * ``load_from`` and ``--resume`` work under torch >= 2.6, whose ``torch.load``
      is weights-only: loading runs inside
      :func:`~mmkd_invproj.utils.checkpoint_compat.mmengine_checkpoint_globals`,
      which admits exactly MMEngine's checkpoint types for that call.

    It also registers :class:`~mmkd_invproj.hooks.FiniteLossHook` (stop at the first
    NaN/inf loss term) and :class:`~mmkd_invproj.hooks.TrainAnnotationCheckHook` (the
    training pipeline loads what the loss reads) unless the config has them.
    ``tools/train.py`` and ``tools/test.py`` use it for any config that sets no
    ``runner_type``.
    """

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        super().register_hooks(default_hooks, custom_hooks)
        register_reliability_hooks(self)

    @master_only  # as in MMEngine: only rank 0 writes
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        if not osp.isdir(out_dir):
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        tmp_name = f'{filename}.tmp'
        try:
            super().save_checkpoint(out_dir, tmp_name, *args, **kwargs)
            os.replace(osp.join(out_dir, tmp_name), osp.join(out_dir, filename))
        finally:  # an interrupted or failed write leaves no stray partial file
            if osp.exists(osp.join(out_dir, tmp_name)):
                os.remove(osp.join(out_dir, tmp_name))

    def load_or_resume(self) -> None:
        with mmengine_checkpoint_globals():
            super().load_or_resume()

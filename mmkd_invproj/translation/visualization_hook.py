# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Save input | translation | target strips during validation and testing."""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from ..registry import HOOKS


@HOOKS.register_module()
class TranslationVisualizationHook(Hook):
    """Write, for the first ``max_images`` images of every validation / test run, one
    RGB strip ``input | translation | target`` through the runner's visualizer
    (``LocalVisBackend``: ``<work_dir>/<timestamp>/vis_data/vis_image/<name>_<step>.png``,
    step = the epoch, or the iteration in iteration-based training; 0 in a test run).

    It reads ``input_img``, ``pred_img`` and ``gt_img`` (uint8 RGB (3, H, W)) of the data
    samples a translation model's ``val_step`` / ``test_step`` returns.

    Args:
        max_images (int): Images per run. Defaults to 4.
    """

    priority = 'NORMAL'

    def __init__(self, max_images: int = 4) -> None:
        self.max_images = max_images
        self._written = 0

    def before_val_epoch(self, runner) -> None:
        self._written = 0

    def before_test_epoch(self, runner) -> None:
        self._written = 0

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        by_epoch = isinstance(runner.train_loop, EpochBasedTrainLoop)
        self._write(runner, outputs, runner.epoch if by_epoch else runner.iter)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        self._write(runner, outputs, 0)

    def _write(self, runner, outputs: Optional[Sequence], step: int) -> None:
        for sample in outputs or ():
            if self._written >= self.max_images:
                return
            parts = [sample.get(k) for k in ('input_img', 'pred_img', 'gt_img')]
            strip = np.concatenate([p.permute(1, 2, 0).cpu().numpy() for p in parts
                                    if p is not None], axis=1)
            name = osp.splitext(osp.basename(sample.metainfo.get('img_path', 'image')))[0]
            runner.visualizer.add_image(f'translation_{name}', strip, step=step)
            self._written += 1

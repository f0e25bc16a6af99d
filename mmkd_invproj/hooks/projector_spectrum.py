# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Record the singular-value spectrum of every projector P during training
(supplementary 6.9, Figure 4: "Evolution of singular values")."""
import json
import logging
import os
import os.path as osp
from typing import Dict, List, Optional

import torch.nn as nn
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ..analysis.spectrum import numerical_rank, projector_singular_values
from ..distillers.pairs import DistillPairs
from ..registry import HOOKS
from ..utils.model_wrappers import unwrap_model


@HOOKS.register_module()
class ProjectorSpectrumHook(Hook):
    """Log the singular values and numerical rank of every projector P over training.

    Every ``interval`` training iterations (``after_train_iter``), once before
    training (``record_initial``) and once at the end of training, the hook takes
    each built projector of the model's :class:`~mmkd_invproj.distillers.DistillPairs`
    (of any holder: ``CrossTaskDistiller``, a GAN student; wrappers are unwrapped),
    computes the singular values of its ``weight_matrix`` (out, in) with
    ``torch.linalg.svdvals`` in float64 on the CPU, and its numerical rank: the
    number of singular values ``> threshold * sigma_1`` (Figure 4 uses
    ``threshold = 0.01``). The paper reads a low rank of the inverted projector as
    the teacher's task-irrelevant directions being filtered out (6.9).

    Outputs, on the main process only (``mmengine.dist.is_main_process``; P is the
    same on every rank under DDP):

    * scalars ``projector/<name>/rank`` and ``projector/<name>/sigma_1`` through
      ``runner.visualizer.add_scalars`` (so every configured vis backend, e.g.
      TensorBoard or the local ``vis_data/scalars.json``, shows them);
    * one JSON line per projector and record appended to
      ``osp.join(runner.log_dir, out_file)``, with keys ``iter``, ``projector``,
      ``type``, ``shape`` ([out, in]), ``singular_values`` (descending list),
      ``sigma_1``, ``numerical_rank`` and ``threshold``. ``runner.log_dir`` (the
      ``work_dir/<timestamp>`` folder, beside the run's log and ``vis_data``) is used
      rather than ``work_dir`` so a resumed or repeated run never appends to
      another run's file; an absolute ``out_file`` is used as is. Plot it with
      ``tools/analysis/plot_projector_spectrum.py``.

    ``iter`` (and the visualizer ``step``) is the number of completed training
    iterations: ``runner.iter + 1`` in ``after_train_iter``, ``runner.iter`` before
    and after training. An iteration already recorded is not recorded again (the
    end-of-training record is skipped when the last iteration hit the interval).

    A model without projectors, or whose projectors are all unbuilt,
    is skipped with a single warning.

    Args:
        interval (int): Record every ``interval`` training iterations. Defaults to 50.
        threshold (float): Relative tolerance of the numerical rank. Defaults to 0.01.
        out_file (str): JSONL file name, relative to ``runner.log_dir``.
            Defaults to ``'projector_spectrum.jsonl'``.
        record_initial (bool): Also record before the first iteration (the
            initial spectrum). Defaults to True.

    Raises:
        ValueError: for ``interval < 1`` or a negative ``threshold``.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 50,
                 threshold: float = 0.01,
                 out_file: str = 'projector_spectrum.jsonl',
                 record_initial: bool = True) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError('ProjectorSpectrumHook interval must be an int >= 1, '
                             f'got {interval!r}')
        if not threshold >= 0:
            raise ValueError(f'ProjectorSpectrumHook threshold must be >= 0, got {threshold!r}')
        self.interval = interval
        self.threshold = float(threshold)
        self.out_file = out_file
        self.record_initial = record_initial
        self._warned = False
        self._last_iter: Optional[int] = None

    # ------------------------------------------------------------------ hooks
    def before_train(self, runner) -> None:
        if self.record_initial:
            self.record(runner, runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self.record(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        self.record(runner, runner.iter)

    # ---------------------------------------------------------------- helpers
    def _warn_once(self, msg: str) -> None:
        if not self._warned:
            print_log(f'ProjectorSpectrumHook: {msg}; nothing is recorded.',
                      logger='current', level=logging.WARNING)
            self._warned = True

    def _projectors(self, runner) -> Dict[str, nn.Module]:
        model = unwrap_model(runner.model)
        projectors = {name: p for pairs in model.modules() if isinstance(pairs, DistillPairs)
                      for name, p in pairs.projectors.items()}
        if not projectors:
            self._warn_once(f'the model ({type(model).__name__}) has no projectors')
            return {}
        built = {name: p for name, p in projectors.items()
                 if getattr(p, 'is_built', True) and hasattr(p, 'weight_matrix')}
        if not built:
            self._warn_once(f'none of the projectors {list(projectors.keys())} is built')
        return built

    def out_path(self, runner) -> str:
        """Where the JSONL records go (``runner.log_dir / out_file``)."""
        return osp.join(runner.log_dir, self.out_file)

    def record(self, runner, step: int) -> List[dict]:
        """Compute, log and append one record per built projector at ``step``.

        Returns the records written (empty on non-main processes, for a model
        without built projectors, or when ``step`` was already recorded).
        """
        if not is_main_process() or step == self._last_iter:
            return []
        projectors = self._projectors(runner)
        if not projectors:
            return []
        records, scalars = [], {}
        for name, projector in projectors.items():
            weight = projector.weight_matrix
            sv = projector_singular_values(weight)
            rank = numerical_rank(sv, self.threshold)
            sigma_1 = float(sv[0]) if sv.size else 0.0
            records.append(dict(
                iter=int(step), projector=name, type=type(projector).__name__,
                shape=list(weight.shape), singular_values=sv.tolist(),
                sigma_1=sigma_1, numerical_rank=rank, threshold=self.threshold))
            scalars[f'projector/{name}/rank'] = rank
            scalars[f'projector/{name}/sigma_1'] = sigma_1
        visualizer = getattr(runner, 'visualizer', None)
        if visualizer is not None:
            visualizer.add_scalars(scalars, step=int(step))
        path = self.out_path(runner)
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        with open(path, 'a', encoding='utf-8') as f:
            for rec in records:
                f.write(json.dumps(rec) + '\n')
        self._last_iter = step
        return records

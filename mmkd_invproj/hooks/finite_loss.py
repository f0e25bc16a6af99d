# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Stop training at the first iteration whose loss is NaN or infinite."""
import math
from typing import Dict, Mapping, Optional

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from ..registry import HOOKS

__all__ = ['FiniteLossHook', 'NonFiniteLossError']


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite during training."""


def _value_of(value) -> float:
    """A loss entry as one Python float (the sum of a tensor's entries, in float32)."""
    return float(value.detach().float().sum()) if torch.is_tensor(value) else float(value)


def _all_finite(values) -> bool:
    """Whether every value (tensor or number) sums to a finite float32, with one
    host read for all tensors together (``torch.isfinite`` of their stacked sums)
    instead of one ``float()``, a device sync on a GPU, per term."""
    sums = []
    for value in values:
        if torch.is_tensor(value):
            sums.append(value.detach().float().sum())
        elif not math.isfinite(float(value)):
            return False
    if not sums:
        return True
    device = sums[0].device
    return bool(torch.isfinite(torch.stack([v.to(device) for v in sums])).all())


def _non_finite_terms(outputs: Mapping) -> Dict[str, float]:
    """The loss terms of ``outputs`` that are NaN or infinite, by name.

    MMEngine's ``BaseModel.parse_losses`` sums every entry whose key contains
    ``'loss'`` into the total it logs as ``'loss'``; those terms are checked (other
    logged values, e.g. ``decode.acc_seg``, never reach the gradient). The total is
    reported only when every term is finite and their sum is not (an overflow).

    The usual all-finite case costs one host read for every term and the total
    together (:func:`_all_finite`); the values are read term by term only to name
    the culprits.

    Args:
        outputs (Mapping): The iteration's ``log_vars``: name -> scalar tensor or
            number.

    Returns:
        dict[str, float]: ``{name: value}`` of the non-finite terms (empty if none).
    """
    terms = {key: value for key, value in outputs.items() if 'loss' in key and key != 'loss'}
    checked = list(terms.values()) + ([outputs['loss']] if 'loss' in outputs else [])
    if _all_finite(checked):
        return {}
    bad = {}
    for key, value in terms.items():
        value = _value_of(value)
        if not math.isfinite(value):
            bad[key] = value
    if not bad and 'loss' in outputs:
        total = _value_of(outputs['loss'])
        if not math.isfinite(total):
            bad['loss'] = total
    return bad


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` at the first training iteration with a NaN
    or infinite loss term, naming the term(s) and the iteration.

    It runs right after the iteration's optimizer step and before every hook of
    lower priority (EMA, parameter schedulers, logger, checkpoint), so no checkpoint
    is written from the corrupted weights: the last checkpoint on disk is the last
    good one and ``--resume`` continues from it once the cause is fixed. With several
    processes the ranks agree on the outcome (one tiny ``all_reduce`` per iteration),
    so every rank stops at the same iteration, also when only one rank's batch went
    non-finite (DDP has already averaged its gradients into everyone's weights).

    ``AtomicCheckpointRunner`` (this package's configs) and ``tools/train.py`` (any
    config) register it; it changes no logged value and no checkpoint.

    Raises:
        NonFiniteLossError: e.g. ``non-finite loss at iteration 5 (epoch 2, batch 2 of
            3): loss_distill_enc = nan ...``; with several processes the rank(s)
            whose batch produced it are named.
    """

    priority = 'ABOVE_NORMAL'  # before EMA (NORMAL), schedulers, logger, checkpoint

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[Mapping] = None) -> None:
        bad = _non_finite_terms(outputs) if isinstance(outputs, Mapping) else {}
        per_rank = {0: bad}
        if dist.get_world_size() > 1:
            flag = torch.tensor([1.0 if bad else 0.0])
            dist.all_reduce(flag, op='max')
            if flag.item() == 0:
                return
            per_rank = dict(enumerate(dist.all_gather_object(bad)))
        elif not bad:
            return
        raise NonFiniteLossError(self._message(runner, batch_idx, per_rank))

    @staticmethod
    def _message(runner, batch_idx: int, per_rank: Dict[int, Dict[str, float]]) -> str:
        where = f'iteration {runner.iter + 1}'
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            where += (f' (epoch {runner.epoch + 1}, batch {batch_idx + 1} of '
                      f'{len(runner.train_loop.dataloader)})')
        terms = []
        for rank, bad in per_rank.items():
            if not bad:
                continue
            text = ', '.join(f'{k} = {v}' for k, v in bad.items())
            terms.append(f'{text} on rank {rank}' if len(per_rank) > 1 else text)
        last = runner.message_hub.get_info('last_ckpt')
        last, then = ((f'the last checkpoint, {last}, is intact',
                       'continue with `tools/train.py CONFIG --resume`') if last else
                      ('no checkpoint had been written yet',
                       'train again from the start (there is nothing to resume)'))
        return (f'non-finite loss at {where}: {"; ".join(terms)}. Training stopped before '
                f'any later hook or checkpoint used this iteration; {last}. Fix the cause '
                "(e.g. lower the learning rate or the term's loss_weight, check the inputs "
                f'and teacher features) and {then}.')

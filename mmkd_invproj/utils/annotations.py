# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Which ground truth an MMSeg student's loss reads, and which transform loads it."""
import random
from contextlib import contextmanager
from typing import Iterator, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from .model_wrappers import unwrap_student

__all__ = ['required_annotation', 'missing_annotation_message', 'check_train_annotations']


def required_annotation(model: nn.Module) -> Optional[Tuple[str, str]]:
    """The data-sample field the (student) model's loss reads and the transform that
    loads it, or None for a model this check does not know.

    Args:
        model (nn.Module): An MMSeg segmentor / depth estimator, a
            ``CrossTaskDistiller`` (its ``student`` is used), possibly DDP-wrapped.

    Returns:
        tuple[str, str] | None: ``('gt_depth_map', 'LoadDepthAnnotation')`` for a
        ``DepthEstimator``, ``('gt_sem_seg', 'LoadAnnotations')`` for another
        ``EncoderDecoder``.
    """
    from mmseg.models.segmentors import DepthEstimator, EncoderDecoder
    student = unwrap_student(model)
    if isinstance(student, DepthEstimator):
        return 'gt_depth_map', 'LoadDepthAnnotation'
    if isinstance(student, EncoderDecoder):
        return 'gt_sem_seg', 'LoadAnnotations'
    return None


def missing_annotation_message(field: str, transform: str, reader: str,
                               pipeline: Optional[str] = None) -> str:
    """The error text for a batch without ``field``; one wording for every check.

    Args:
        field (str): The missing data-sample field, e.g. ``'gt_depth_map'``.
        transform (str): The transform that loads it, e.g. ``'LoadDepthAnnotation'``.
        reader (str): Who needs it, e.g. ``"DepthEstimator's loss"``.
        pipeline (str, optional): The training pipeline's transforms, e.g.
            ``'LoadImageFromFile -> PackSegInputs'``, quoted at the end.

    Returns:
        str: ``"<reader> needs `<field>` in every training sample, but the training
        pipeline does not load it: add dict(type='<transform>', ...) after
        LoadImageFromFile to train_dataloader.dataset.pipeline (it is now:
        <pipeline>)."`` (the parenthesis only with ``pipeline``).
    """
    text = (f'{reader} needs `{field}` in every training sample, but the training pipeline '
            f"does not load it: add dict(type='{transform}', ...) after LoadImageFromFile to "
            'train_dataloader.dataset.pipeline')
    if pipeline:
        text += f' (it is now: {pipeline})'
    return text + '.'


def _pipeline_text(dataset) -> Optional[str]:
    transforms = getattr(getattr(dataset, 'pipeline', None), 'transforms', None)
    if not transforms:
        return None
    return ' -> '.join(type(t).__name__ for t in transforms)


@contextmanager
def _rng_untouched() -> Iterator[None]:
    """Restore Python's, NumPy's and torch's (CPU) random state on exit, so that a
    sample drawn through random transforms leaves the run's random stream as it was."""
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


def check_train_annotations(model: nn.Module, dataset) -> None:
    """Run the training pipeline on ``dataset[0]`` and check the field the loss reads.

    The random state (Python, NumPy, torch CPU) is restored afterwards, so the
    training that follows draws exactly what it would have drawn without the check.

    Args:
        model (nn.Module): The model being trained (see :func:`required_annotation`).
        dataset: The training dataset (its pipeline is applied by ``dataset[0]``).

    Raises:
        ValueError: when the packed sample lacks the field, e.g. ``DepthEstimator's
            loss needs `gt_depth_map` in every training sample, but the training
            pipeline does not load it: add dict(type='LoadDepthAnnotation', ...) ...``;
            or when the pipeline yields no ``data_samples`` (no ``PackSegInputs``).
    """
    need = required_annotation(model)
    if need is None or len(dataset) == 0:
        return
    field, transform = need
    reader = f"{type(unwrap_student(model)).__name__}'s loss"
    with _rng_untouched():
        sample = dataset[0]
    data_samples = sample.get('data_samples') if isinstance(sample, dict) else None
    if data_samples is None:
        raise ValueError(f'the training pipeline yields no `data_samples`: end '
                         "train_dataloader.dataset.pipeline with dict(type='PackSegInputs')"
                         f' (it is now: {_pipeline_text(dataset)}).')
    if field not in data_samples:
        raise ValueError(missing_annotation_message(field, transform, reader,
                                                    _pipeline_text(dataset)))

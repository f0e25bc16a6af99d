# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Checks that a segmentation student's heads and its dataset agree on the number of
classes.

A child config that sets ``model = dict(decode_head=dict(num_classes=150))`` on a
base written for Cityscapes leaves ``auxiliary_head.num_classes=19``; MMSeg trains it
without complaint (the auxiliary loss then reads ADE20K labels > 18 as out of range,
which fails deep inside the cross-entropy, or silently on some devices). These checks
name both numbers at build / train start instead.
"""
from typing import Dict, Optional, Sequence

import torch.nn as nn

from .model_wrappers import unwrap_student


def head_num_classes(model: nn.Module) -> Dict[str, int]:
    """``{head module name: num_classes}`` for every MMSeg decode head of the student.

    Args:
        model (nn.Module): An MMSeg segmentor, or a :class:`CrossTaskDistiller` /
            DDP wrapper around one (its student is inspected; the teacher is not).

    Returns:
        dict[str, int]: e.g. ``{'decode_head': 150, 'auxiliary_head': 150}``.
    """
    from mmseg.models.decode_heads.decode_head import BaseDecodeHead
    student = unwrap_student(model)
    return {name: int(m.num_classes) for name, m in student.named_modules()
            if isinstance(m, BaseDecodeHead)}


def check_head_num_classes(model: nn.Module) -> Dict[str, int]:
    """Raise when the student's decode/auxiliary heads predict different class counts.

    Returns:
        dict[str, int]: the heads' class counts (all equal).

    Raises:
        ValueError: naming every head and its ``num_classes``, e.g. ``decode_head has
            num_classes=150, auxiliary_head has num_classes=19``.
    """
    counts = head_num_classes(model)
    if len(set(counts.values())) > 1:
        listing = ', '.join(f'{name} has num_classes={n}' for name, n in counts.items())
        raise ValueError(
            f'the student\'s heads disagree on the number of classes: {listing}. A child '
            'config probably changed num_classes in one head only; set the same '
            'num_classes in every head (decode_head and auxiliary_head).')
    return counts


def check_dataset_num_classes(model: nn.Module, classes: Optional[Sequence[str]],
                              split: str = 'train', dataset_name: str = 'dataset') -> None:
    """Raise when a dataset's ``metainfo['classes']`` count differs from the heads'.

    Depth students (``DepthEstimator``) and datasets without a class list are skipped.

    Args:
        model (nn.Module): The segmentor or a wrapper around it.
        classes (Sequence[str] | None): ``dataset.metainfo['classes']``.
        split (str): 'train', 'val' or 'test', for the message.
        dataset_name (str): The dataset class name, for the message.

    Raises:
        ValueError: naming the dataset's class count and the head's ``num_classes``.
    """
    from mmseg.models.segmentors import DepthEstimator
    if classes is None or isinstance(unwrap_student(model), DepthEstimator):
        return
    for name, n in check_head_num_classes(model).items():
        if n != len(classes):
            raise ValueError(
                f'the {split} dataset ({dataset_name}) has {len(classes)} classes but the '
                f'student\'s {name} has num_classes={n}. Set num_classes={len(classes)} in '
                'every head of the model, or give the dataset the classes the model '
                'predicts (metainfo=dict(classes=...)).')

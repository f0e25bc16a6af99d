# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Fail at the start of training/validation when the dataset's class count and the
student's heads disagree (MMDet has ``NumClassCheckHook`` for detectors; it inspects
every module, teacher included, so it does not fit a distiller)."""
from mmengine.hooks import Hook

from ..registry import HOOKS
from ..utils.num_classes import check_dataset_num_classes, check_head_num_classes


def _dataset_classes(dataloader):
    dataset = getattr(dataloader, 'dataset', None)
    metainfo = getattr(dataset, 'metainfo', None) or {}
    return dataset, metainfo.get('classes')


@HOOKS.register_module()
class SegNumClassesCheckHook(Hook):
    """Check ``len(dataset.metainfo['classes'])`` against every student head's
    ``num_classes`` before training, validation and testing.

    The student of a :class:`CrossTaskDistiller` is checked (not the teacher, whose
    heads belong to another task); a plain MMSeg segmentor is checked as is. Depth
    students are skipped.

    Raises:
        ValueError: naming both numbers (see
            :func:`mmkd_invproj.utils.num_classes.check_dataset_num_classes`), or the
            heads' disagreeing counts.
    """

    priority = 'VERY_HIGH'

    def _check(self, runner, split: str) -> None:
        loop = getattr(runner, f'{split}_loop', None)
        dataset, classes = _dataset_classes(getattr(loop, 'dataloader', None))
        check_head_num_classes(runner.model)
        check_dataset_num_classes(runner.model, classes, split, type(dataset).__name__)

    def before_train(self, runner) -> None:
        self._check(runner, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, 'test')

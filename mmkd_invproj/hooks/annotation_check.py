# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Fail before the first training iteration when the training pipeline does not load
the annotation the student's loss reads."""
from mmengine.hooks import Hook

from ..registry import HOOKS
from ..utils.annotations import check_train_annotations

__all__ = ['TrainAnnotationCheckHook']


@HOOKS.register_module()
class TrainAnnotationCheckHook(Hook):
    """Check one training sample for the ground truth the student's loss needs.

    MMSeg's losses read the annotation from each ``SegDataSample``: a
    ``DepthEstimator`` reads ``gt_depth_map`` (loaded by ``LoadDepthAnnotation``), an
    ``EncoderDecoder`` reads ``gt_sem_seg`` (``LoadAnnotations``). A pipeline without
    the loader otherwise trains until the loss and fails there with
    ``AttributeError: 'SegDataSample' object has no attribute 'gt_depth_map'``. Before
    training this hook runs the training pipeline on the dataset's first sample and
    checks the field (see :func:`mmkd_invproj.utils.annotations.check_train_annotations`).
    The student of a ``CrossTaskDistiller`` (``model.student``) is the one checked.

    ``AtomicCheckpointRunner`` (this package's configs) and ``tools/train.py`` (any
    config) register it.

    Raises:
        ValueError: naming the missing field, the transform that loads it and the
            pipeline as configured.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        check_train_annotations(runner.model, runner.train_dataloader.dataset)

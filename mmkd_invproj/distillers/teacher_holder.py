# Copyright (c) mmkd-invproj authors. All rights reserved.
"""What every model that holds frozen teachers and distillation pairs does alike: run
the teachers the pairs read, and the dry run that gives the projectors their channels.
``CrossTaskDistiller`` and the translation students (Pix2Pix, CycleGAN) use it."""
import contextlib
from typing import Any, Callable, Dict, Iterator

import torch
import torch.nn as nn
from torch import Tensor

from ..utils.model_wrappers import unwrap_model


@contextlib.contextmanager
def training_mode(module: nn.Module, train: bool) -> Iterator[None]:
    """``module.train(train)`` inside the block; the mode it had is restored after it
    (also after an exception). The whole module tree is set, and on exit set back to
    the module's own earlier mode, as ``nn.Module.train`` does."""
    previous = module.training
    module.train(train)
    try:
        yield
    finally:
        module.train(previous)


class TeacherHolderMixin:
    """Teacher features and the projector dry run of a model with distillation pairs.

    The model (an ``nn.Module`` listing this mixin before its base class) has:

    * ``teachers``: an ``nn.ModuleDict`` of
      :class:`~mmkd_invproj.teachers.FrozenTeacher` by name
      (:func:`~mmkd_invproj.teachers.build_teachers`);
    * ``pairs``: its :class:`~mmkd_invproj.distillers.DistillPairs`, possibly wrapped
      by a DDP wrapper (MMEngine's ``MMSeparateDistributedDataParallel`` wraps each
      child of the model);
    * ``infer_input_size``: (H, W) in pixels of the dry run's zero image.
    """

    def teacher_features(self, inputs: Tensor) -> Dict[str, Dict[str, Tensor]]:
        """Run every teacher some pair reads, once, on ``inputs``.

        Args:
            inputs (Tensor): The teachers' input images (B, 3, H, W), in the
                normalisation the teachers were told (``FrozenTeacher.set_input_norm``):
                a distiller's preprocessed batch, a translation student's real input
                as RGB in [-1, 1].

        Returns:
            dict: ``{teacher name: {feature key: (B, C, h, w) float32 map}}``; empty
            when no pair reads a teacher.
        """
        names = unwrap_model(self.pairs).teacher_names
        return {name: self.teachers[name](inputs) for name in names}

    @torch.no_grad()
    def calibrate_pairs(self, student: nn.Module, call: Callable[[Tensor], Any],
                        in_channels: int = 3) -> None:
        """Dry run that infers the channels of the projectors a config leaves out;
        nothing when every projector has them.

        ``call`` runs on a zero image (1, ``in_channels``, H, W) of
        ``infer_input_size``, with ``student`` in eval mode (its mode restored after)
        and no gradient; the teachers run on a zero RGB image of the same size
        (the same tensor when ``in_channels`` is 3). ``DistillPairs.calibrate`` builds
        each projector from the recorded student map and the teacher map, then
        releases both (nothing is kept).

        Args:
            student (nn.Module): The module ``call`` runs (set to eval mode).
            call (Callable[[Tensor], Any]): The distilled student call on an input
                batch, e.g. ``lambda x: student._forward(x)``.
            in_channels (int): Channels of the student's input.

        Raises:
            RuntimeError: from ``DistillPairs.calibrate`` when a hooked student
                module did not run in ``call``.
        """
        pairs = unwrap_model(self.pairs)
        if not pairs.needs_calibration:
            return
        size = tuple(self.infer_input_size)
        x = torch.zeros(1, in_channels, *size)
        teacher_input = x if in_channels == 3 else torch.zeros(1, 3, *size)
        with training_mode(student, False):
            pairs.calibrate(lambda: call(x), self.teacher_features(teacher_input), size)

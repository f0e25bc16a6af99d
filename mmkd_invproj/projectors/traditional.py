# Copyright (c) mmkd-invproj authors. All rights reserved.
from typing import Optional, Sequence, Tuple

from torch import Tensor

from ..registry import MODELS
from .base import BaseProjector


@MODELS.register_module()
class TraditionalProjector(BaseProjector):
    """The traditional projection: student features mapped into the teacher's space.

    ``L_distill = d(Z_s P, Z_t)`` with ``P in R^{d_s x d_t}``, as in FitNets'
    regressor (Romero et al., ICLR 2015) and most feature-distillation methods
    (METHOD.md "Projections"). The student is pulled toward *all* teacher
    directions, task-relevant or not.

    Shapes: student (B, C_s, H_s, W_s) (or tokens), teacher (B, C_t, H_t, W_t) or
    ViT tokens (B, 1 + N, C_t). Returns ``pred = P(student)`` and
    ``target = teacher``, both (B, C_t, H, W) on the ``resize_to`` grid.

    See :class:`BaseProjector` for the arguments; ``in_channels`` is C_s and
    ``out_channels`` is C_t.
    """

    projected_side = 'student'

    def channels_for(self, student_channels: int, teacher_channels: int) -> Tuple[int, int]:
        """(in_channels, out_channels) of P for these feature channels."""
        return student_channels, teacher_channels

    def forward(self, student: Tensor, teacher: Tensor,
                student_hw: Optional[Sequence[int]] = None,
                teacher_hw: Optional[Sequence[int]] = None) -> Tuple[Tensor, Tensor]:
        """Project the student feature and align the pair.

        Args:
            student (Tensor): (B, C_s, H_s, W_s) map or (B, N, C_s) tokens.
            teacher (Tensor): (B, C_t, H_t, W_t) map or (B, 1 + N, C_t) ViT tokens.
            student_hw, teacher_hw: Input image (H, W) in pixels of each network,
                needed to turn tokens into maps.

        Returns:
            tuple[Tensor, Tensor]: ``(pred, target)`` = (P(student), teacher), both
            (B, C_t, H, W) on the ``resize_to`` grid.
        """
        student, teacher = self.align(student, teacher, student_hw, teacher_hw)
        pred = self.project(student)
        target = teacher
        pred, target = self.resize_pair(pred, target, student_is_pred=True)
        return pred, target

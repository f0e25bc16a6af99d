# Copyright (c) mmkd-invproj authors. All rights reserved.
from typing import Tuple

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

# Copyright (c) mmkd-invproj authors. All rights reserved.
from typing import Tuple

from ..registry import MODELS
from .base import BaseProjector


@MODELS.register_module()
class InvertedProjector(BaseProjector):
    """The inverted projection: teacher features mapped into the student's space.

    ``L_distill = d(Z_t P, Z_s)`` with ``P in R^{d_t x d_s}`` (Auty et al., BMVC 2024,
    Sec. 3 / METHOD.md "Projections"). P is learned jointly with the student, the
    teacher stays frozen; because P only sees the teacher, it can drop teacher
    directions that do not help the student's task, and the loss splits into
    knowledge transfer plus a spectral regulariser on the student (supplementary
    6.13-6.15). P is discarded after training.

    Shapes: student (B, C_s, H_s, W_s), teacher (B, C_t, H_t, W_t) or ViT tokens
    (B, 1 + N, C_t). Returns ``pred = P(teacher)`` and ``target = student``, both
    (B, C_s, H, W) on the ``resize_to`` grid. Gradients reach the student through
    ``target`` and P through ``pred``.

    See :class:`BaseProjector` for the arguments; ``in_channels`` is C_t and
    ``out_channels`` is C_s.

    Examples:
        >>> proj = InvertedProjector(in_channels=1280, out_channels=160)
        >>> pred, target = proj(torch.rand(2, 160, 8, 10), torch.rand(2, 1280, 4, 5))
        >>> pred.shape, target.shape
        (torch.Size([2, 160, 8, 10]), torch.Size([2, 160, 8, 10]))
    """

    projected_side = 'teacher'

    def channels_for(self, student_channels: int, teacher_channels: int) -> Tuple[int, int]:
        """(in_channels, out_channels) of P for these feature channels."""
        return teacher_channels, student_channels

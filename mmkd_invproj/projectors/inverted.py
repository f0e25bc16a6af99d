# Copyright (c) mmkd-invproj authors. All rights reserved.
from ..registry import MODELS
from .base import BaseProjector


@MODELS.register_module()
class InvertedProjector(BaseProjector):
    """The inverted projection: teacher features mapped into the student's space.

    ``L_distill = d(Z_t P, Z_s)`` with ``P in R^{d_t x d_s}`` (Auty et al., BMVC
    2024, Sec. 3). P is learned with the student while the teacher stays frozen;
    because P only sees the teacher it can drop teacher directions the student's
    task does not need, and the loss splits into knowledge transfer plus a spectral
    regulariser on the student (supplementary 6.13-6.15). P is discarded after
    training.

    Returns ``pred = P(teacher)`` and ``target = student``, both (B, C_s, H, W);
    ``in_channels`` is C_t and ``out_channels`` C_s. Arguments: :class:`BaseProjector`.

    Examples:
        >>> proj = InvertedProjector(in_channels=1280, out_channels=160)
        >>> pred, target = proj(torch.rand(2, 160, 8, 10), torch.rand(2, 1280, 4, 5))
        >>> pred.shape, target.shape
        (torch.Size([2, 160, 8, 10]), torch.Size([2, 160, 8, 10]))
    """

    projected_side = 'teacher'

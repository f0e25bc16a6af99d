# Copyright (c) mmkd-invproj authors. All rights reserved.
from ..registry import MODELS
from .base import BaseProjector


@MODELS.register_module()
class TraditionalProjector(BaseProjector):
    """The traditional projection: student features mapped into the teacher's space.

    ``L_distill = d(Z_s P, Z_t)`` with ``P in R^{d_s x d_t}``, FitNets' regressor
    (Romero et al., ICLR 2015): the student is pulled toward *all* teacher
    directions, task-relevant or not.

    Returns ``pred = P(student)`` and ``target = teacher``, both (B, C_t, H, W);
    ``in_channels`` is C_s and ``out_channels`` C_t. Arguments: :class:`BaseProjector`.
    """

    projected_side = 'student'

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The learned linear projection P shared by both projection directions."""
from typing import Optional, Tuple

import torch.nn as nn
from torch import Tensor

from ..utils.feature_maps import RESIZE_MODES, match_spatial_size


class BaseProjector(nn.Module):
    """A per-pixel linear map P (a 1x1 convolution) between two feature spaces, plus
    the resize that puts both maps on one grid.

    Subclasses fix the direction: :class:`InvertedProjector` applies P to the
    teacher's map, :class:`TraditionalProjector` to the student's. Both take
    ``(student, teacher)`` maps and return the ``(pred, target)`` pair a distillation
    loss compares: ``pred`` is the projected side, ``target`` the other.

    Design choices (the paper leaves them open), all configurable:

    * **bias** (default False): P is a pure linear map, as in the paper's analysis
      (supplementary 6.13-6.15), so its singular values describe what it keeps.
    * **initialisation**: PyTorch's default (Kaiming-uniform) for the 1x1 conv.
    * **spatial mismatch**: the loss is computed on the ``resize_to`` side's grid;
      the other map is resized with ``resize_mode``. P is per-pixel linear and every
      resize mode is linear per channel with weights summing to one, so the two
      commute: P is applied on whichever grid has fewer pixels.

    Args:
        in_channels (int, optional): Channels of the map P is applied to. ``None``
            lets the holder infer it with a dry run.
        out_channels (int, optional): Channels of the space P maps into.
        bias (bool): Add a bias to P. Defaults to False.
        resize_to (str): ``'student'`` or ``'teacher'``: whose grid the loss is
            computed on. Defaults to ``'student'``.
        resize_mode (str): One of :data:`RESIZE_MODES` (default ``'bilinear'``).
        align_corners (bool): For bilinear/bicubic resizing. Defaults to False.

    Raises:
        ValueError: for an invalid ``resize_to`` or ``resize_mode``, or when the
            channel count of an input differs from ``in_channels`` (the message
            names both).
    """

    #: which side P is applied to: 'teacher' (inverted) or 'student' (traditional)
    projected_side: str = ''

    def __init__(self,
                 in_channels: Optional[int] = None,
                 out_channels: Optional[int] = None,
                 bias: bool = False,
                 resize_to: str = 'student',
                 resize_mode: str = 'bilinear',
                 align_corners: bool = False) -> None:
        super().__init__()
        if resize_to not in ('student', 'teacher'):
            raise ValueError(f"resize_to must be 'student' or 'teacher', got {resize_to!r}")
        if resize_mode not in RESIZE_MODES:
            raise ValueError(f'unknown resize_mode {resize_mode!r}; valid modes: {RESIZE_MODES}')
        self.in_channels, self.out_channels, self.bias = in_channels, out_channels, bias
        self.resize_to, self.resize_mode = resize_to, resize_mode
        self.align_corners = align_corners
        self.proj: Optional[nn.Conv2d] = None
        if in_channels is not None and out_channels is not None:
            self.build(in_channels, out_channels)

    @property
    def is_built(self) -> bool:
        """Whether P's weights exist (channel counts known)."""
        return self.proj is not None

    def build(self, in_channels: int, out_channels: int) -> None:
        """Create P as a 1x1 convolution ``in_channels -> out_channels``."""
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.proj = nn.Conv2d(self.in_channels, self.out_channels, 1, bias=self.bias)

    @property
    def weight_matrix(self) -> Tensor:
        """P as an (out_channels, in_channels) matrix.

        Raises:
            RuntimeError: when P is not built yet.
        """
        if self.proj is None:
            raise RuntimeError('projector is not built yet: its channel counts are unknown')
        return self.proj.weight.flatten(1)

    def channels_for(self, student_channels: int, teacher_channels: int) -> Tuple[int, int]:
        """(in, out) channels of P for these student/teacher channel counts."""
        if self.projected_side == 'teacher':
            return teacher_channels, student_channels
        return student_channels, teacher_channels

    def project(self, x: Tensor) -> Tensor:
        """Apply P to a (B, C_in, H, W) map; returns (B, C_out, H, W).

        Raises:
            RuntimeError: when P was never built.
            ValueError: when ``C_in`` differs from ``in_channels``.
        """
        if self.proj is None:
            raise RuntimeError(
                f'{type(self).__name__} was never built: give in_channels/out_channels, '
                'or let the distiller infer them.')
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} was built for {self.in_channels} input channels '
                f'but got features of shape {tuple(x.shape)}; fix in_channels in the '
                'projector config (or leave it None to infer it).')
        return self.proj(x.to(self.proj.weight.dtype))

    def _resize(self, x: Tensor, size) -> Tensor:
        return match_spatial_size(x, size, self.resize_mode, self.align_corners)

    def forward(self, student: Tensor, teacher: Tensor) -> Tuple[Tensor, Tensor]:
        """Map the ``projected_side`` through P and put both maps on one grid.

        Args:
            student (Tensor): Student map (B, C_s, H_s, W_s).
            teacher (Tensor): Teacher map (B, C_t, H_t, W_t).

        Returns:
            tuple[Tensor, Tensor]: ``(pred, target)``, both (B, C, H, W) on the
            ``resize_to`` grid; ``pred`` is P of the projected side.
        """
        if self.projected_side == 'student':
            source, target = student, teacher
        else:
            source, target = teacher, student
        if self.resize_to != self.projected_side:  # the projected map moves
            size = target.shape[-2:]
            if size.numel() < source.shape[-2:].numel():
                return self.project(self._resize(source, size)), target
            return self._resize(self.project(source), size), target
        return self.project(source), self._resize(target, source.shape[-2:])

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, out_channels={self.out_channels}, '
                f'bias={self.bias}, resize_to={self.resize_to!r}, '
                f'resize_mode={self.resize_mode!r}')

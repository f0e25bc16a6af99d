# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The learned linear projection P shared by both projection directions."""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from torch import Tensor

from ..utils.feature_maps import RESIZE_MODES, match_spatial_size, to_feature_map


class BaseProjector(nn.Module):
    """A per-pixel linear map P (a 1x1 convolution) between two feature spaces.

    Subclasses fix the direction: :class:`InvertedProjector` applies P to the
    teacher's features, :class:`TraditionalProjector` to the student's. Both take
    ``(student_feat, teacher_feat)`` and return the ``(pred, target)`` pair that a
    distillation loss compares: ``pred`` carries the student's gradient (or P's),
    ``target`` is what it is pulled towards.

    Design choices (METHOD.md), all configurable:

    * **bias** (default False): P is a pure linear map, as in the paper's analysis
      (supplementary 6.13-6.15), so its singular values describe what it keeps.
    * **initialisation**: PyTorch's default (Kaiming-uniform) for the 1x1 conv.
    * **spatial mismatch**: the map on the ``resize_to`` side's grid wins; the other
      map is resized with ``resize_mode`` (default bilinear, ``align_corners=False``).
      ``resize_to='student'`` (default) resizes the teacher's map (no gradient flows
      through it); P is linear and pixel-wise, so it commutes with bilinear resizing
      and the choice only changes the cost.
    * **ViT tokens** (B, 1 + N, C) become (B, C, H / patch_size, W / patch_size)
      maps from the input size, class and register tokens dropped
      (:func:`mmkd_invproj.utils.tokens_to_map`). 2-D (B, C) vectors become 1x1 maps.

    Args:
        in_channels (int, optional): Channels of the features P is applied to.
            ``None`` lets :class:`CrossTaskDistiller` infer it with a dry run.
        out_channels (int, optional): Channels of the space P maps into.
        bias (bool): Add a bias to P. Defaults to False.
        resize_to (str): ``'student'`` or ``'teacher'``: whose spatial grid the
            loss is computed on. Defaults to ``'student'``.
        resize_mode (str): Interpolation mode, one of
            ``('bilinear', 'bicubic', 'nearest', 'area', 'adaptive_avg_pool')``.
        align_corners (bool): For bilinear/bicubic resizing. Defaults to False.
        patch_size (int): Patch size in pixels used to turn ViT tokens into maps.
            Defaults to 16.

    Raises:
        ValueError: for an invalid ``resize_to`` or ``resize_mode``, or when the
            channel count of an input differs from ``in_channels`` (the message
            names both shapes).
    """

    #: which side P is applied to: 'teacher' (inverted) or 'student' (traditional)
    projected_side: str = ''

    def __init__(self,
                 in_channels: Optional[int] = None,
                 out_channels: Optional[int] = None,
                 bias: bool = False,
                 resize_to: str = 'student',
                 resize_mode: str = 'bilinear',
                 align_corners: bool = False,
                 patch_size: int = 16) -> None:
        super().__init__()
        if resize_to not in ('student', 'teacher'):
            raise ValueError(f"resize_to must be 'student' or 'teacher', got {resize_to!r}")
        if resize_mode not in RESIZE_MODES:
            raise ValueError(f'unknown resize_mode {resize_mode!r}; valid modes: {RESIZE_MODES}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.bias = bias
        self.resize_to = resize_to
        self.resize_mode = resize_mode
        self.align_corners = align_corners
        self.patch_size = patch_size
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
        """P as a (out_channels, in_channels) matrix (for spectrum analysis)."""
        if self.proj is None:
            raise RuntimeError('projector is not built yet: its channel counts are unknown')
        return self.proj.weight.flatten(1)

    def channels_for(self, student_channels: int, teacher_channels: int) -> Tuple[int, int]:
        """(in, out) channels of P for these student/teacher channel counts."""
        raise NotImplementedError

    def project(self, x: Tensor) -> Tensor:
        """Apply P to a (B, C_in, H, W) map.

        Raises:
            ValueError: when ``C_in`` differs from the ``in_channels`` P was built for.
        """
        if self.proj is None:
            raise RuntimeError(
                f'{type(self).__name__} was never built: give in_channels/out_channels, '
                'or let CrossTaskDistiller infer them.')
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} was built for {self.in_channels} input channels '
                f'but got features of shape {tuple(x.shape)}; fix in_channels in the '
                'projector config (or leave it None to infer it).')
        return self.proj(x.to(self.proj.weight.dtype))

    def align(self, student: Tensor, teacher: Tensor,
              student_hw: Optional[Sequence[int]] = None,
              teacher_hw: Optional[Sequence[int]] = None) -> Tuple[Tensor, Tensor]:
        """Both inputs as (B, C, H, W) maps (tokens reshaped), no resizing yet."""
        return (to_feature_map(student, student_hw, self.patch_size),
                to_feature_map(teacher, teacher_hw, self.patch_size))

    def resize_pair(self, pred: Tensor, target: Tensor,
                    student_is_pred: bool) -> Tuple[Tensor, Tensor]:
        """Resize the map that is not on the ``resize_to`` side's grid."""
        pred_side = 'student' if student_is_pred else 'teacher'
        if self.resize_to == pred_side:
            target = match_spatial_size(target, pred.shape[-2:], self.resize_mode,
                                        self.align_corners)
        else:
            pred = match_spatial_size(pred, target.shape[-2:], self.resize_mode,
                                      self.align_corners)
        return pred, target

    def forward(self, student: Tensor, teacher: Tensor,
                student_hw: Optional[Sequence[int]] = None,
                teacher_hw: Optional[Sequence[int]] = None) -> Tuple[Tensor, Tensor]:
        """Map one side through P and return the ``(pred, target)`` pair.

        Args:
            student (Tensor): Student features (B, C_s, H_s, W_s), tokens
                (B, 1 + N, C_s) or vectors (B, C_s).
            teacher (Tensor): Teacher features (B, C_t, H_t, W_t), tokens or vectors.
            student_hw (Sequence[int], optional): (H, W) in pixels of the student's
                input image; needed only when the student gives ViT tokens.
            teacher_hw (Sequence[int], optional): (H, W) in pixels of the teacher's
                input image; needed only when the teacher gives ViT tokens.

        Returns:
            tuple[Tensor, Tensor]: ``(pred, target)`` of identical shape (B, C, H, W)
            on the ``resize_to`` grid: ``pred`` is P applied to the
            ``projected_side`` (the teacher for :class:`InvertedProjector`, the
            student for :class:`TraditionalProjector`), ``target`` the other side.
        """
        student, teacher = self.align(student, teacher, student_hw, teacher_hw)
        student_is_pred = self.projected_side == 'student'
        if student_is_pred:
            pred, target = self.project(student), teacher
        else:
            pred, target = self.project(teacher), student
        return self.resize_pair(pred, target, student_is_pred=student_is_pred)

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, out_channels={self.out_channels}, '
                f'bias={self.bias}, resize_to={self.resize_to!r}, '
                f'resize_mode={self.resize_mode!r}')

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Turning teacher/student outputs into comparable (B, C, H, W) feature maps."""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

RESIZE_MODES = ('bilinear', 'bicubic', 'nearest', 'area', 'adaptive_avg_pool')


def tokens_to_map(tokens: Tensor, input_hw: Sequence[int], patch_size: int) -> Tensor:
    """Reshape ViT tokens into a (B, C, h, w) map on the patch grid
    ``(H // patch_size, W // patch_size)`` of the input; the tokens in front of the
    patch tokens (class, register, distillation tokens; ``N_tokens - h * w`` of them)
    are dropped, as a 1x1-convolution projector needs a spatial map.

    Args:
        tokens (Tensor): ViT output of shape (B, P + h * w, C), P >= 0 prefix tokens.
        input_hw (Sequence[int]): (H, W) of the image the ViT saw, in pixels.
        patch_size (int): Patch size of the ViT in pixels (16 for ViT-B/16).

    Returns:
        Tensor: Feature map of shape (B, C, h, w).

    Raises:
        ValueError: if ``tokens`` is not 3-D, or holds fewer tokens than the patch
            grid of ``input_hw`` needs (wrong ``patch_size`` or input size).
    """
    if tokens.dim() != 3:
        raise ValueError(f'tokens_to_map expects (B, N, C) tokens, got shape {tuple(tokens.shape)}')
    h, w = int(input_hw[0]) // patch_size, int(input_hw[1]) // patch_size
    num_prefix = tokens.shape[1] - h * w
    if h * w == 0 or num_prefix < 0:
        raise ValueError(
            f'{tokens.shape[1]} tokens cannot hold the {h}x{w} patch grid of a '
            f'{tuple(input_hw)} input with patch_size={patch_size}; set the '
            '`patch_size` to the ViT\'s patch size.')
    patch_tokens = tokens[:, num_prefix:, :]
    return patch_tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], h, w)


def match_spatial_size(x: Tensor, size: Tuple[int, int], mode: str = 'bilinear',
                       align_corners: Optional[bool] = False) -> Tensor:
    """Resize a (B, C, H, W) map to ``size`` = (H', W'); a no-op when it already matches.

    Args:
        x (Tensor): Feature map (B, C, H, W).
        size (tuple[int, int]): Target (H', W') in feature pixels.
        mode (str): One of ``RESIZE_MODES``. ``'adaptive_avg_pool'`` averages
            (only for shrinking); the others are :func:`torch.nn.functional.interpolate`
            modes.
        align_corners (bool, optional): Passed to ``interpolate`` for the modes that
            take it (bilinear, bicubic).

    Returns:
        Tensor: (B, C, H', W').

    Raises:
        ValueError: for an unknown ``mode``.
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f'unknown resize mode {mode!r}; valid modes: {RESIZE_MODES}')
    size = (int(size[0]), int(size[1]))
    if tuple(x.shape[-2:]) == size:
        return x
    if mode == 'adaptive_avg_pool':
        return F.adaptive_avg_pool2d(x, size)
    kwargs = {'align_corners': align_corners} if mode in ('bilinear', 'bicubic') else {}
    return F.interpolate(x, size=size, mode=mode, **kwargs)


def infer_patch_size(model: nn.Module) -> Optional[int]:
    """The patch size in pixels of a ViT-like ``model``, or None when it has none.

    Reads torchvision's ``VisionTransformer.patch_size`` or timm's
    ``patch_embed.patch_size`` (square patches).
    """
    size = getattr(model, 'patch_size', None)
    if size is None:
        size = getattr(getattr(model, 'patch_embed', None), 'patch_size', None)
    if isinstance(size, (tuple, list)):
        size = size[0] if len(set(size)) == 1 else None
    return int(size) if isinstance(size, int) else None


def to_feature_map(x: Tensor, input_hw: Optional[Sequence[int]] = None,
                   patch_size: Optional[int] = None, role: str = 'model') -> Tensor:
    """Return ``x`` as a (B, C, H, W) map: 4-D maps pass, 3-D ViT tokens are reshaped
    (:func:`tokens_to_map`), 2-D (B, C) vectors become (B, C, 1, 1).

    Args:
        x (Tensor): (B, C, H, W) map, (B, P + h * w, C) ViT tokens (P prefix tokens,
            dropped), or (B, C).
        input_hw (Sequence[int], optional): (H, W) in pixels of the image the model
            saw; needed for tokens.
        patch_size (int, optional): The ViT's patch size in pixels; needed for tokens.
        role (str): ``'teacher'`` or ``'student'``, named in errors.

    Returns:
        Tensor: (B, C, H', W'); for tokens (B, C, h, w) on the patch grid
        h = H // patch_size, w = W // patch_size.

    Raises:
        ValueError: for tokens when ``input_hw`` or ``patch_size`` is unknown (the
            message names the ``patch_size`` argument of ``role``), or any other rank.
    """
    if x.dim() == 4:
        return x
    if x.dim() == 3:
        if input_hw is None or not patch_size:
            raise ValueError(f'the {role} feature is (B, N, C) tokens {tuple(x.shape)} but the '
                             f'{role}\'s patch size is unknown; set `patch_size` (pixels) for '
                             f'the {role}.')
        return tokens_to_map(x, input_hw, patch_size)
    if x.dim() == 2:
        return x[:, :, None, None]
    raise ValueError(f'expected a (B, C, H, W) map, (B, N, C) tokens or (B, C) vector, '
                     f'got shape {tuple(x.shape)}')

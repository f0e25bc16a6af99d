# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Attention transfer (AT) between a projected feature map and its target.

Zagoruyko & Komodakis, "Paying More Attention to Attention: Improving the
Performance of Convolutional Neural Networks via Attention Transfer", ICLR 2017
(METHOD.md "KD methods that take either projection").
"""
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..registry import MODELS
from .precision import float32_loss

#: eps of the L2 normalisation, ``F.normalize``'s default: an all-zero map stays zero
AT_NORM_EPS = 1e-12


@float32_loss
def attention_map(feat: Tensor, p: float = 2, eps: float = AT_NORM_EPS) -> Tensor:
    """Spatial attention map of a feature map: L2-normalised channel mean of ``|F|^p``.

    ``a[b] = v[b] / max(||v[b]||_2, eps)`` with ``v[b, i] = mean_c |F[b, c, i]|^p`` over
    the ``H * W`` flattened positions ``i``. For ``p = 2`` this is exactly the
    authors' ``F.normalize(x.pow(2).mean(1).view(x.size(0), -1))``.

    An all-zero map gives an all-zero attention map (no division by zero) with
    finite, zero gradients for ``p >= 1``; for ``0 < p < 1`` the gradient of
    ``|x|^p`` is unbounded at ``x = 0``. Half / bfloat16 inputs are computed in
    float32.

    Args:
        feat (Tensor): Feature map of shape (B, C, H, W).
        p (float): Exponent of ``|F|``. Defaults to 2 (the paper's choice).
        eps (float): Lower bound of the norm in the normalisation. Defaults to
            1e-12 (``F.normalize``'s default).

    Returns:
        Tensor: Attention maps of shape (B, H * W), each row of unit L2 norm (or
        all zero), in float32 for half inputs.

    Raises:
        ValueError: when ``feat`` is not 4-D or ``p <= 0``.
    """
    if feat.dim() != 4:
        raise ValueError(f'attention_map expects a (B, C, H, W) feature map, got shape '
                         f'{tuple(feat.shape)}')
    if p <= 0:
        raise ValueError(f'attention_map needs p > 0, got p={p}')
    powered = feat * feat if p == 2 else feat.abs().pow(p)
    return F.normalize(powered.mean(dim=1).flatten(1), p=2, dim=1, eps=eps)


def at_loss(pred: Tensor, target: Tensor, p: float = 2, eps: float = AT_NORM_EPS) -> Tensor:
    """Unweighted attention-transfer loss: ``mean((a(pred) - a(target)) ** 2)``.

    The mean runs over the batch and the ``H * W`` positions, i.e. over the
    ``B * H * W`` entries of the two (B, H * W) attention maps. This is exactly the
    reduction of the authors' code (and of RepDistiller), ``(at(x) - at(y)).pow(2).mean()``
    for ``p = 2``; their training script then multiplies by ``beta / 2`` with
    ``beta = 1e3``, which here is left to ``loss_weight``. (The paper's Eq. 2 writes a
    non-squared p-norm per sample instead; we follow the code.) Because every
    attention map has unit norm, the per-sample sum lies in ``[0, 4]`` and the loss
    in ``[0, 4 / (H * W)]``: it shrinks with the resolution of the compared grid.

    Args:
        pred (Tensor): (B, C_p, H, W), e.g. the projected features.
        target (Tensor): (B, C_t, H, W); the channel count may differ from ``pred``'s.
        p (float): Exponent of ``|F|``. Defaults to 2.
        eps (float): Normalisation eps, see :func:`attention_map`.

    Returns:
        Tensor: Scalar loss (float32 for half / bfloat16 inputs).

    Raises:
        ValueError: when either input is not 4-D or their (B, H, W) differ (both
            shapes are named), or ``p <= 0``.
    """
    if (pred.dim() != 4 or target.dim() != 4 or pred.shape[0] != target.shape[0]
            or pred.shape[2:] != target.shape[2:]):
        raise ValueError(f'ATLoss needs (B, C, H, W) maps with the same B, H and W (channels '
                         f'may differ), got pred {tuple(pred.shape)} and target '
                         f'{tuple(target.shape)}')
    diff = attention_map(pred, p, eps) - attention_map(target, p, eps)
    return diff.pow(2).mean()


@MODELS.register_module()
class ATLoss(nn.Module):
    """Attention-transfer loss between ``pred`` and ``target`` feature maps.

    ``loss = loss_weight * mean_{b, i} (a(pred)[b, i] - a(target)[b, i]) ** 2`` where
    ``a`` is :func:`attention_map` (L2-normalised, flattened channel mean of
    ``|F|^p``), the mean running over the batch and the ``H * W`` positions
    (Zagoruyko & Komodakis, ICLR 2017; METHOD.md "KD methods"). This equals the
    authors' ``(at(x) - at(y)).pow(2).mean()``; their ``beta / 2 = 500`` factor is
    not included (public implementations use ``loss_weight=1000`` on CIFAR, the
    paper uses 1). With a projector the projection is applied before the maps are
    taken: :class:`InvertedProjector` gives ``pred = P(teacher)``,
    ``target = student``; the loss is symmetric in its two arguments.

    Computed in float32 for half / bfloat16 inputs; all-zero maps give a finite
    loss and finite (zero) gradients.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        p (float): Exponent of ``|F|`` in the attention map. Defaults to 2.

    Shapes:
        pred: (B, C_p, H, W); target: (B, C_t, H, W), same B, H, W (channels may
        differ). Returns a scalar.

    Raises:
        ValueError: ``p <= 0`` (at construction), or inputs that are not 4-D or whose
            (B, H, W) differ (both shapes are named).
    """

    def __init__(self, loss_weight: float = 1.0, p: float = 2) -> None:
        super().__init__()
        if p <= 0:
            raise ValueError(f'ATLoss needs p > 0, got p={p}')
        self.loss_weight = loss_weight
        self.p = p

    @float32_loss
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Weighted AT loss of two feature maps.

        Args:
            pred (Tensor): (B, C_p, H, W) projected (or unprojected) features.
            target (Tensor): (B, C_t, H, W) features; channels may differ from
                ``pred`` (attention maps average over channels), B, H and W may not.

        Returns:
            Tensor: scalar, float32 for half-precision inputs.

        Raises:
            ValueError: for non-4-D inputs or different (B, H, W) (both shapes named).
        """
        return self.loss_weight * at_loss(pred, target, self.p)

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, p={self.p}'

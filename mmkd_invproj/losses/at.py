# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Attention transfer (AT): Zagoruyko & Komodakis, "Paying More Attention to
Attention", ICLR 2017, following the authors' code; one of the KD methods of
supplementary Tables 4-8."""
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..registry import MODELS
from .precision import float32_loss

#: eps of the L2 normalisation, ``F.normalize``'s default: an all-zero map stays zero
AT_NORM_EPS = 1e-12


@float32_loss
def attention_map(feat: Tensor, p: float = 2, eps: float = AT_NORM_EPS) -> Tensor:
    """Spatial attention map: the L2-normalised channel mean of ``|F|^p``.

    ``a[b] = v[b] / max(||v[b]||_2, eps)``, ``v[b, i] = mean_c |F[b, c, i]|^p`` over
    the ``H * W`` positions ``i``; for ``p = 2`` the authors'
    ``F.normalize(x.pow(2).mean(1).view(x.size(0), -1))``. An all-zero map gives a
    zero attention map with zero gradients for ``p >= 1``.

    Args:
        feat (Tensor): (B, C, H, W) feature map.
        p (float): Exponent of ``|F|``. Defaults to 2 (the paper's).
        eps (float): Lower bound of the norm. Defaults to ``F.normalize``'s 1e-12.

    Returns:
        Tensor: (B, H * W), rows of unit L2 norm (or zero); float32 for half inputs.

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


@float32_loss
def at_loss(pred: Tensor, target: Tensor, p: float = 2, eps: float = AT_NORM_EPS) -> Tensor:
    """Unweighted AT loss ``mean((a(pred) - a(target)) ** 2)`` (:func:`attention_map`).

    The mean runs over the ``B * H * W`` entries of the two attention maps: the
    authors' code's ``(at(x) - at(y)).pow(2).mean()`` (their paper's eq. 2 writes a
    non-squared norm per sample). Their ``beta / 2 = 500`` factor is left to
    ``loss_weight``. With unit-norm maps the loss lies in ``[0, 4 / (H * W)]``: it
    shrinks with the resolution of the compared grid.

    Args:
        pred (Tensor): (B, C_p, H, W), e.g. the projected features.
        target (Tensor): (B, C_t, H, W); channels may differ from ``pred``'s.
        p (float): Exponent of ``|F|``. Defaults to 2.
        eps (float): See :func:`attention_map`.

    Returns:
        Tensor: Scalar, float32 for half inputs; symmetric in its arguments.

    Raises:
        ValueError: when either input is not 4-D, their (B, H, W) differ (both shapes
            are named) or ``p <= 0``.
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
    """``loss_weight *`` :func:`at_loss` ``(pred, target)``. Public implementations
    use ``loss_weight=1000`` on CIFAR; the paper uses 1.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        p (float): Exponent of ``|F|`` in the attention map. Defaults to 2.

    Raises:
        ValueError: for ``p <= 0``; :func:`at_loss`'s errors in ``forward``.
    """

    def __init__(self, loss_weight: float = 1.0, p: float = 2) -> None:
        super().__init__()
        if p <= 0:
            raise ValueError(f'ATLoss needs p > 0, got p={p}')
        self.loss_weight = loss_weight
        self.p = p

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """(B, C_p, H, W), (B, C_t, H, W) -> scalar, float32 (see :func:`at_loss`)."""
        return self.loss_weight * at_loss(pred, target, self.p)

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, p={self.p}'

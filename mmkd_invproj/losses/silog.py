# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The depth task loss of the paper: SILog (supplementary 6.4, eq. 7)."""
import torch
import torch.nn as nn
from torch import Tensor

from ..registry import MODELS
from .precision import float32_loss


@float32_loss
def scale_invariant_log_loss(pred: Tensor, target: Tensor, variance_focus: float = 0.85,
                             scale: float = 10.0, eps: float = 1e-6) -> Tensor:
    """Scale-invariant log loss (SILog) in the AdaBins form, over valid pixels.

    With ``g_i = log(d_i) - log(d*_i)`` over the K valid pixels of the whole batch::

        loss = scale * sqrt(mean(g^2) - variance_focus * mean(g)^2)
             = scale * sqrt(Var(g) + (1 - variance_focus) * mean(g)^2)

    ``10 * sqrt(Var(g) + 0.15 mean(g)^2)`` for the defaults: Eigen et al., NeurIPS
    2014, as modified by AdaBins (Bhat et al., CVPR 2021), the paper's eq. 7
    (supplementary 6.4), whose printed first term drops the mean subtraction.
    ``Var`` is the population variance (AdaBins' ``torch.var`` divides by K - 1).

    A pixel is valid when its target is finite and > 0; pixels are pooled over the
    batch, and a batch without valid pixels gives a zero loss connected to ``pred``.
    ``pred`` is clamped to ``>= eps`` before the log, and the root taken of
    ``max(D, eps^2)`` so a perfect prediction has a zero, not NaN, gradient.

    Args:
        pred (Tensor): Predicted depth (B, 1, H, W) in metres.
        target (Tensor): Ground truth (B, 1, H, W) in metres.
        variance_focus (float): lambda above. Defaults to 0.85.
        scale (float): Output multiplier. Defaults to 10.
        eps (float): Clamp of the predictions and the root. Defaults to 1e-6.

    Returns:
        Tensor: Scalar, float32 for half inputs.

    Raises:
        ValueError: when the two shapes differ (both are named).
    """
    if pred.shape != target.shape:
        raise ValueError(f'SILog needs pred and target of the same shape, got pred '
                         f'{tuple(pred.shape)} and target {tuple(target.shape)}; resize the '
                         'prediction to the ground-truth size first.')
    valid = torch.isfinite(target) & (target > 0)
    num_valid = valid.sum()
    if num_valid == 0:
        return pred.sum() * 0.0
    safe_target = torch.where(valid, target, torch.ones_like(target))
    g = torch.log(pred.clamp(min=eps)) - torch.log(safe_target)
    g = torch.where(valid, g, torch.zeros_like(g))
    mean_g = g.sum() / num_valid
    mean_g2 = (g * g).sum() / num_valid
    d = mean_g2 - variance_focus * mean_g * mean_g
    return scale * torch.sqrt(d.clamp(min=eps * eps))


@MODELS.register_module()
class ScaleInvariantLogLoss(nn.Module):
    """``loss_weight *`` :func:`scale_invariant_log_loss`, as an MMSeg decode head's
    ``loss_decode`` (it has ``loss_name``). MMSegmentation's own ``SiLogLoss`` is a
    different loss (per image, lambda 0.5, no x10).

    Args:
        variance_focus (float): lambda. Defaults to 0.85 (AdaBins).
        scale (float): Multiplier. Defaults to 10 (AdaBins).
        loss_weight (float): Extra multiplier. Defaults to 1.0.
        eps (float): Numerical clamp. Defaults to 1e-6.
        loss_name (str): Key in the loss dict. Defaults to ``'loss_silog'``.
    """

    def __init__(self, variance_focus: float = 0.85, scale: float = 10.0,
                 loss_weight: float = 1.0, eps: float = 1e-6,
                 loss_name: str = 'loss_silog') -> None:
        super().__init__()
        self.variance_focus, self.scale = variance_focus, scale
        self.loss_weight, self.eps, self._loss_name = loss_weight, eps, loss_name

    def forward(self, pred: Tensor, target: Tensor, **kwargs) -> Tensor:
        """(B, 1, H, W) depth in metres, twice -> scalar; ``kwargs`` (MMSeg's
        ``weight`` / ``ignore_index``) are ignored."""
        return self.loss_weight * scale_invariant_log_loss(
            pred, target, self.variance_focus, self.scale, self.eps)

    @property
    def loss_name(self) -> str:
        """Name of the loss item (MMSeg convention: it starts with ``loss_``)."""
        return self._loss_name

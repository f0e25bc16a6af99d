# Copyright (c) mmkd-invproj authors. All rights reserved.
import torch
import torch.nn as nn
from torch import Tensor

from ..registry import MODELS
from .precision import float32_loss


@float32_loss
def scale_invariant_log_loss(pred: Tensor, target: Tensor, variance_focus: float = 0.85,
                             scale: float = 10.0, eps: float = 1e-6) -> Tensor:
    """The AdaBins form of the scale-invariant log loss (SILog), over valid pixels.

    With ``g_i = log(d_i) - log(d*_i)`` over the K valid pixels of the whole batch::

        loss = scale * sqrt( mean(g^2) - variance_focus * mean(g)^2 )
             = scale * sqrt( Var(g) + (1 - variance_focus) * mean(g)^2 )

    i.e. ``10 * sqrt(Var(g) + 0.15 * mean(g)^2)`` for the defaults: Eigen et al.,
    NeurIPS 2014, as modified by AdaBins (Bhat et al., CVPR 2021); the paper's eq. 7
    (supplementary 6.4). Eq. 7 as printed drops the mean subtraction from the first
    term; this follows the AdaBins form (METHOD.md). ``Var`` is the population
    variance (AdaBins' ``torch.var`` divides by K - 1; the difference is a factor
    K / (K - 1), negligible for pixel counts).

    A pixel is valid when its target is finite and > 0. Pixels are pooled over the
    batch, so an image without valid pixels contributes nothing; a batch without any
    valid pixel gives a zero loss that is still connected to ``pred`` (zero
    gradient). ``pred`` is clamped to ``>= eps`` before the log. The square root is
    taken of ``max(D, eps^2)``, so a perfect prediction (D = 0) has a finite (zero)
    gradient instead of NaN.

    Args:
        pred (Tensor): Predicted depth (B, 1, H, W) in metres.
        target (Tensor): Ground-truth depth (B, 1, H, W) in metres; <= 0 or
            non-finite marks an invalid pixel.
        variance_focus (float): lambda in the formula above. Defaults to 0.85.
        scale (float): Output multiplier. Defaults to 10.
        eps (float): Clamp for predictions and the square root. Defaults to 1e-6.

    Returns:
        Tensor: scalar loss.

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
    """SILog depth loss of the paper (supplementary eq. 7, AdaBins form).

    See :func:`scale_invariant_log_loss` for the formula, validity rule and edge
    cases. Note: MMSegmentation's own ``SiLogLoss`` is a *different* loss: it uses
    ``sqrt(mean(g^2) - 0.5 * mean(g)^2)`` per image (lambda 0.5, no x10 scale) and
    averages over images; it is not the loss the paper trains with.

    It plugs into an MMSeg decode head as ``loss_decode`` (it has ``loss_name``).

    Args:
        variance_focus (float): lambda; 0.85 as in AdaBins. Defaults to 0.85.
        scale (float): Multiplier; 10 as in AdaBins. Defaults to 10.
        loss_weight (float): Extra multiplier. Defaults to 1.0.
        eps (float): Numerical clamp. Defaults to 1e-6.
        loss_name (str): Key in the loss dict. Defaults to ``'loss_silog'``.

    Shapes:
        pred, target: (B, 1, H, W) depth in metres. Returns a scalar.
    """

    def __init__(self, variance_focus: float = 0.85, scale: float = 10.0,
                 loss_weight: float = 1.0, eps: float = 1e-6,
                 loss_name: str = 'loss_silog') -> None:
        super().__init__()
        self.variance_focus = variance_focus
        self.scale = scale
        self.loss_weight = loss_weight
        self.eps = eps
        self._loss_name = loss_name

    @float32_loss
    def forward(self, pred: Tensor, target: Tensor, **kwargs) -> Tensor:
        """Weighted SILog loss.

        Args:
            pred (Tensor): (B, 1, H, W) predicted depth in metres.
            target (Tensor): (B, 1, H, W) ground truth in metres; pixels that are
                not finite and > 0 are ignored.
            **kwargs: Ignored (MMSeg passes ``weight`` / ``ignore_index``).

        Returns:
            Tensor: scalar, float32 for half-precision inputs.

        Raises:
            ValueError: when the two shapes differ (both are named).
        """
        return self.loss_weight * scale_invariant_log_loss(
            pred, target, self.variance_focus, self.scale, self.eps)

    @property
    def loss_name(self) -> str:
        """Name of the loss item (MMSeg convention: it starts with ``loss_``)."""
        return self._loss_name

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""FitNets: the feature-regression KD method of supplementary Tables 4-8."""
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..registry import MODELS
from .precision import float32_loss


@MODELS.register_module()
class FitNetsLoss(nn.Module):
    """FitNets hint loss ``loss_weight * mean((pred - target) ** 2)`` over every
    element (Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015); the paper
    weights it equally with the task loss (``loss_weight=1``, supplementary 6.4).

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.

    Shapes:
        pred, target: one shape, typically (B, C, H, W). Returns a scalar, float32
        for half inputs.

    Raises:
        ValueError: in ``forward``, when the shapes differ (both are named).
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    @float32_loss
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """``loss_weight * mean((pred - target) ** 2)``, computed in float32.

        Args:
            pred (Tensor): The projected (or student) feature, e.g. (B, C, H, W).
            target (Tensor): The feature ``pred`` is regressed onto, same shape.

        Returns:
            Tensor: Scalar, float32 (also for half inputs or under autocast).

        Raises:
            ValueError: when the shapes differ (both are named).
        """
        if pred.shape != target.shape:
            raise ValueError(f'FitNetsLoss needs equal shapes, got pred {tuple(pred.shape)} '
                             f'and target {tuple(target.shape)}')
        return self.loss_weight * F.mse_loss(pred, target)

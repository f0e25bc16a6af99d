# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Probabilistic knowledge transfer (PKT): Passalis & Tefas, "Learning Deep
Representations with Probabilistic Knowledge Transfer", ECCV 2018, following the
authors' ``cosine_similarity_loss`` (github.com/passalis/probabilistic_kt); one of the
KD methods of supplementary Tables 4-8."""
import torch
import torch.nn as nn
from torch import Tensor

from ..registry import MODELS
from .precision import float32_loss

PKT_REDUCTIONS = ('batchmean', 'mean')


def pkt_rows(feat: Tensor, pool: bool = True) -> Tensor:
    """The (N, D) rows PKT compares: (B, C) per image with ``pool`` (global average),
    else (B * H * W, C) per pixel, from a (B, C, H, W) map; (N, D) rows as given.

    Raises:
        ValueError: for inputs that are neither 2-D nor 4-D.
    """
    if feat.dim() == 2:
        return feat
    if feat.dim() == 4:
        if pool:
            return feat.mean(dim=(2, 3))
        return feat.permute(0, 2, 3, 1).reshape(-1, feat.shape[1])
    raise ValueError(f'PKT expects (B, C, H, W) maps or (N, D) rows, got shape '
                     f'{tuple(feat.shape)}')


def pkt_probabilities(rows: Tensor, eps: float = 1e-7) -> Tensor:
    """Conditional probabilities ``P_ij = K_ij / sum_j K_ij`` of the cosine kernel
    ``K_ij = (x_i . x_j + 1) / 2`` of the rows ``x_i <- x_i / (||x_i||_2 + eps)``.

    ``K`` is clamped at 0 against rounding. Row sums are at least 1/2, so all-zero
    rows are safe (a uniform row, finite gradients).

    Args:
        rows (Tensor): (N, D).
        eps (float): Added to each row's norm. Defaults to 1e-7.

    Returns:
        Tensor: (N, N) row-stochastic.
    """
    rows = rows / (torch.linalg.vector_norm(rows, dim=1, keepdim=True) + eps)
    kernel = ((rows @ rows.t() + 1.0) / 2.0).clamp_min(0.0)
    return kernel / kernel.sum(dim=1, keepdim=True)


def _check_pkt_inputs(pred: Tensor, target: Tensor, pool: bool) -> None:
    """Raise ValueError (naming both shapes) unless the inputs give the same rows."""
    same_rank = pred.dim() == target.dim() and pred.dim() in (2, 4)
    if pred.dim() == 4 and pool:
        rows_match = same_rank and pred.shape[0] == target.shape[0]
    elif pred.dim() == 4:
        rows_match = (same_rank and pred.shape[0] == target.shape[0]
                      and pred.shape[2:] == target.shape[2:])
    else:
        rows_match = same_rank and pred.shape[0] == target.shape[0]
    if not rows_match:
        what = 'the same B' if pool else 'the same B, H and W'
        raise ValueError(f'PKTLoss needs two (B, C, H, W) maps with {what} or two (N, D) '
                         f'row sets with the same N (channels may differ), got pred '
                         f'{tuple(pred.shape)} and target {tuple(target.shape)}')


@float32_loss
def pkt_loss(pred: Tensor, target: Tensor, pool: bool = True, eps: float = 1e-7,
             reduction: str = 'batchmean') -> Tensor:
    """Unweighted PKT loss ``KL(t || s)``: ``reduce_i sum_j t_ij log((t_ij + eps) /
    (s_ij + eps))`` with ``t``, ``s`` the :func:`pkt_probabilities` of the
    :func:`pkt_rows` of ``target`` and ``pred`` (``+ eps`` as in the reference code).

    ``reduction='batchmean'`` averages the per-row KL over the N rows; ``'mean'`` is
    the authors' mean over all N x N terms, ``'batchmean' / N`` (it shrinks with the
    batch, and with ``pool=False`` with the pixels). With ``pool=True`` a batch of one
    image gives 0.

    Memory: about ten (N, N) float32 tensors with autograd. ``pool=False`` makes
    N = B * H * W: 2400 rows (~0.2 GB) for B = 8 at 15 x 20, 9600 (~4 GB) at 30 x 40,
    38400 (~60 GB) at 60 x 80; use it on coarse maps only.

    Args:
        pred (Tensor): (B, C_p, H, W) or (N, D_p): the side pulled towards ``target``.
        target (Tensor): Same rank and rows as ``pred``; channels may differ.
        pool (bool): Rows per image (True) or per pixel. Defaults to True.
        eps (float): Stabiliser of the norms and the log ratio. Defaults to 1e-7.
        reduction (str): ``'batchmean'`` or ``'mean'``.

    Returns:
        Tensor: Scalar, float32 for half inputs.

    Raises:
        ValueError: for an unknown ``reduction``, inputs not both 2-D or both 4-D, or
            different rows (B; with ``pool=False`` B, H and W), both shapes named.
    """
    if reduction not in PKT_REDUCTIONS:
        raise ValueError(f'unknown PKT reduction {reduction!r}; valid: {PKT_REDUCTIONS}')
    _check_pkt_inputs(pred, target, pool)
    s = pkt_probabilities(pkt_rows(pred, pool), eps)
    t = pkt_probabilities(pkt_rows(target, pool), eps)
    terms = t * torch.log((t + eps) / (s + eps))
    if reduction == 'mean':
        return terms.mean()
    return terms.sum(dim=1).mean()


@MODELS.register_module()
class PKTLoss(nn.Module):
    """``loss_weight *`` :func:`pkt_loss`, ``KL(target || pred)`` by default.

    Direction: ``target`` is what ``pred`` is pulled towards, as in every loss here.
    With the traditional projector (``pred = P(student)``, ``target = teacher``) this
    is the reference code's ``cosine_similarity_loss(output_net=student,
    target_net=teacher)``. With the inverted projector (``pred = P(teacher)``,
    ``target = student``) it is ``KL(student || P(teacher))``: the student's space is
    the reference the mapped teacher is fitted to, as in ``d(Z_t P, Z_s)`` (eq. 13).
    ``target_is_reference=False`` gives ``KL(pred || target)``. Public
    implementations use ``loss_weight=30000`` with ``reduction='mean'`` on CIFAR; the
    paper uses 1.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        pool (bool): See :func:`pkt_loss`. Defaults to True.
        eps (float): See :func:`pkt_loss`. Defaults to 1e-7.
        reduction (str): ``'batchmean'`` (default) or ``'mean'``.
        target_is_reference (bool): ``KL(target || pred)`` (True, default) or
            ``KL(pred || target)``.

    Raises:
        ValueError: for an unknown ``reduction``; :func:`pkt_loss`'s errors in
            ``forward``.
    """

    def __init__(self, loss_weight: float = 1.0, pool: bool = True, eps: float = 1e-7,
                 reduction: str = 'batchmean', target_is_reference: bool = True) -> None:
        super().__init__()
        if reduction not in PKT_REDUCTIONS:
            raise ValueError(f'unknown PKT reduction {reduction!r}; valid: {PKT_REDUCTIONS}')
        self.loss_weight, self.pool, self.eps = loss_weight, pool, eps
        self.reduction, self.target_is_reference = reduction, target_is_reference

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """(B, C_p, H, W) or (N, D_p), and ``target`` alike -> scalar (float32 for half
        inputs or under autocast: :func:`pkt_loss` computes in float32)."""
        _check_pkt_inputs(pred, target, self.pool)
        if not self.target_is_reference:
            pred, target = target, pred
        return self.loss_weight * pkt_loss(pred, target, self.pool, self.eps, self.reduction)

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, pool={self.pool}, eps={self.eps}, '
                f'reduction={self.reduction!r}, target_is_reference={self.target_is_reference}')

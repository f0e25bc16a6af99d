# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Probabilistic knowledge transfer (PKT).

Passalis & Tefas, "Learning Deep Representations with Probabilistic Knowledge
Transfer", ECCV 2018 (METHOD.md "KD methods that take either projection"), following
the authors' reference ``cosine_similarity_loss`` (github.com/passalis/probabilistic_kt).
"""
import torch
import torch.nn as nn
from torch import Tensor

from ..registry import MODELS
from .precision import float32_loss

PKT_REDUCTIONS = ('batchmean', 'mean')


@float32_loss
def pkt_rows(feat: Tensor, pool: bool = True) -> Tensor:
    """The (N, D) sample rows whose pairwise similarities PKT compares.

    Args:
        feat (Tensor): (B, C, H, W) feature map or (N, D) rows.
        pool (bool): For a 4-D map, ``True`` global-average-pools it to (B, C) (one
            row per image); ``False`` makes every pixel a row, (B * H * W, C).
            2-D inputs are returned unchanged either way.

    Returns:
        Tensor: (N, D) rows, float32 for half / bfloat16 inputs.

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
    """Conditional probabilities of the cosine-similarity kernel of ``rows``.

    ``x_i <- x_i / (||x_i||_2 + eps)``, ``K_ij = (x_i . x_j + 1) / 2`` (the cosine
    similarity rescaled from [-1, 1] to [0, 1]), ``P_ij = K_ij / sum_j K_ij``.
    ``K`` is clamped at 0 against rounding below 0. Row sums are at least 1/2
    (``K_ii = (||x_i||^2 + 1) / 2``), so all-zero rows are safe: they get
    ``K_ij = 1/2`` (a uniform row) and finite gradients (``vector_norm``'s gradient
    is zero at the origin).

    Args:
        rows (Tensor): (N, D) rows.
        eps (float): Added to each row's norm before dividing. Defaults to 1e-7.

    Returns:
        Tensor: (N, N) row-stochastic matrix.
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


def pkt_loss(pred: Tensor, target: Tensor, pool: bool = True, eps: float = 1e-7,
             reduction: str = 'batchmean') -> Tensor:
    """Unweighted PKT loss ``KL(P_target || P_pred)`` between the two kernel distributions.

    ``loss = reduce_i sum_j t_ij * log((t_ij + eps) / (s_ij + eps))`` with
    ``t = pkt_probabilities(rows(target))`` and ``s = pkt_probabilities(rows(pred))``
    (the ``+ eps`` inside the log is the reference code's). ``target``'s distribution
    is the reference (the first argument of the KL), ``pred``'s the approximation.

    Reduction:

    * ``'batchmean'`` (default): KL summed over ``j``, averaged over the N rows,
      i.e. the mean per-sample KL divergence.
    * ``'mean'``: the authors' exact reduction, ``torch.mean`` over all N x N
      terms, which equals ``'batchmean' / N`` (so it shrinks with the batch size, and
      with ``pool=False`` with the number of pixels).

    Memory: the cost is two (N, N) kernels plus their autograd buffers, of order
    ten N x N float32 tensors. ``pool=True`` gives N = B (negligible);
    ``pool=False`` gives N = B * H * W, e.g. 2400 rows (~0.2 GB) for B = 8 at
    15 x 20, 9600 rows (~4 GB) at 30 x 40, 38400 rows (~60 GB) at 60 x 80: use it
    only on coarse maps (or pool / resize first). With ``pool=True`` the batch must
    hold at least 2 images for the loss to be non-trivial (one row gives 0).

    Args:
        pred (Tensor): (B, C_p, H, W) map or (N, D_p) rows: the side pulled towards
            ``target`` (the projected student for the traditional projector).
        target (Tensor): (B, C_t, H, W) map or (N, D_t) rows, same rank as ``pred``;
            channels may differ (only N x N similarities are compared).
        pool (bool): Global-average-pool 4-D maps to one row per image (True) or
            use every pixel as a row (False). Defaults to True.
        eps (float): Stabiliser of the row norms and of the log ratio. Defaults to 1e-7.
        reduction (str): ``'batchmean'`` or ``'mean'`` (see above).

    Returns:
        Tensor: Scalar loss, float32 for half / bfloat16 inputs.

    Raises:
        ValueError: for an unknown ``reduction``, inputs that are not both 2-D or
            both 4-D, or a different number of rows (for 4-D maps: a different B,
            or with ``pool=False`` a different (B, H, W)); both shapes are named.
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
    """Probabilistic knowledge transfer: KL divergence between cosine-kernel distributions.

    Rows (images, or pixels with ``pool=False``) are L2-normalised, their cosine
    similarity kernel rescaled to [0, 1] with ``(K + 1) / 2`` and normalised row-wise
    to conditional probabilities; the loss is
    ``loss_weight * mean_i KL(t_i || s_i) = mean_i sum_j t_ij log(t_ij / s_ij)``
    with ``t`` from ``target`` and ``s`` from ``pred`` (Passalis & Tefas, ECCV 2018;
    METHOD.md "KD methods"). See :func:`pkt_loss` for the exact formula, the
    reductions and the memory cost of ``pool=False``.

    Direction: the KL is always ``KL(target || pred)``, the package-wide convention
    that ``target`` is what ``pred`` is pulled towards.

    * Traditional projector: ``pred = P(student)``, ``target = teacher`` gives
      ``KL(teacher || student)``, exactly METHOD.md's and the reference code's
      ``cosine_similarity_loss(output_net=student, target_net=teacher)``.
    * Inverted projector: ``pred = P(teacher)``, ``target = student`` gives
      ``KL(student || P(teacher))``. We keep the argument-based convention rather than
      swap roles: the inverted projection turns the student's feature space into the
      reference that the mapped teacher is fitted to (``d(Z_t P, Z_s)``), and a loss
      that follows its arguments behaves identically whichever projector produced
      them. Pass ``target_is_reference=False`` for ``KL(pred || target)``, which with
      the inverted projector is the literal ``KL(P(teacher) || student)``.

    Reference weight: public implementations use 30000 with the ``'mean'``
    reduction on CIFAR; the paper uses ``loss_weight=1``.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        pool (bool): Global-average-pool (B, C, H, W) maps to (B, C) rows (True),
            or treat every pixel as a row, (B * H * W, C) (False; memory grows with
            (B * H * W) ** 2). 2-D (N, D) inputs are used as rows directly.
            Defaults to True.
        eps (float): Stabiliser of the row norms and of the log ratio. Defaults to 1e-7.
        reduction (str): ``'batchmean'`` (KL summed per row, mean over rows; default)
            or ``'mean'`` (the reference code's mean over all N x N terms, i.e.
            ``'batchmean' / N``).
        target_is_reference (bool): True (default) computes ``KL(target || pred)``,
            False ``KL(pred || target)``.

    Shapes:
        pred: (B, C_p, H, W) or (N, D_p); target: (B, C_t, H, W) or (N, D_t) with the
        same rank and number of rows (channels may differ). Returns a scalar,
        float32 for half / bfloat16 inputs.

    Raises:
        ValueError: an unknown ``reduction`` (at construction), or mismatched inputs
            (both shapes are named).
    """

    def __init__(self, loss_weight: float = 1.0, pool: bool = True, eps: float = 1e-7,
                 reduction: str = 'batchmean', target_is_reference: bool = True) -> None:
        super().__init__()
        if reduction not in PKT_REDUCTIONS:
            raise ValueError(f'unknown PKT reduction {reduction!r}; valid: {PKT_REDUCTIONS}')
        self.loss_weight = loss_weight
        self.pool = pool
        self.eps = eps
        self.reduction = reduction
        self.target_is_reference = target_is_reference

    @float32_loss
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Weighted PKT loss, KL(target distribution || pred distribution).

        Args:
            pred (Tensor): (B, C_p, H, W) or (B, C_p) features.
            target (Tensor): (B, C_t, H, W) or (B, C_t); same B (and H, W when
                ``pool=False``), channels may differ.

        Returns:
            Tensor: scalar, float32 for half-precision inputs.

        Raises:
            ValueError: for batch / grid mismatches (both shapes named).
        """
        _check_pkt_inputs(pred, target, self.pool)
        if not self.target_is_reference:
            pred, target = target, pred
        return self.loss_weight * pkt_loss(pred, target, self.pool, self.eps, self.reduction)

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, pool={self.pool}, eps={self.eps}, '
                f'reduction={self.reduction!r}, target_is_reference={self.target_is_reference}')

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Teacher-free spectral regulariser: the residual of the best rank-r reconstruction
of the student's batch feature matrix (Auty et al., section 4.5 / Table 9)."""
import numbers
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from ..registry import MODELS
from .precision import float32_loss

SPECTRAL_NORMS = ('fro', 'nuclear')
SPECTRAL_METHODS = ('auto', 'gram', 'svd')
GRAM_DTYPES = ('float64', 'float32')


def features_to_rows(feat: Tensor) -> Tensor:
    """The feature matrix Z (N, D) of a batch: one row per pixel (or sample).

    A (B, C, H, W) map becomes ``Z = feat.permute(0, 2, 3, 1).reshape(B * H * W, C)``
    (rows ordered batch-major, then y, then x; the order does not change the singular
    values). A 2-D (N, D) input is used as is.

    Raises:
        ValueError: for any other number of dimensions.
    """
    if feat.dim() == 4:
        return feat.permute(0, 2, 3, 1).reshape(-1, feat.shape[1])
    if feat.dim() == 2:
        return feat
    raise ValueError(f'SpectralLoss expects (B, C, H, W) feature maps or an (N, D) matrix, '
                     f'got shape {tuple(feat.shape)} ({feat.dim()}-D); valid: 4-D or 2-D '
                     '(ViT tokens (B, L, C) are ambiguous: pass tokens.flatten(0, 1))')


def _sqrt_above(x: Tensor, floor: Tensor) -> Tensor:
    """``sqrt(x)`` where ``x > floor``, else exactly 0 with a zero (not NaN/inf) gradient.

    The inner ``where`` keeps the square root's infinite slope at 0 out of the
    backward pass (the usual double-``where`` trick).
    """
    keep = x > floor
    safe = torch.where(keep, x, torch.ones_like(x))
    return torch.where(keep, torch.sqrt(safe), torch.zeros_like(x))


@float32_loss
def spectral_residual(z: Tensor, rank: int = 2, norm: str = 'fro', method: str = 'auto',
                      gram_dtype: str = 'float64', eps: Optional[float] = None) -> Tensor:
    """``|| Z - sum_{i<=rank} sigma_i u_i v_i^T ||`` for a 2-D matrix Z (N, D).

    See :class:`SpectralLoss` for the formula, the methods and ``eps``. Returns a
    scalar of ``z``'s dtype (float32 for half inputs). No argument checks beyond
    those of :class:`SpectralLoss`.
    """
    n, d = z.shape
    k = min(n, d)  # number of singular values
    if rank >= k or n == 0 or d == 0:
        # the rank-r truncation is Z itself: the residual is exactly 0 (still in the graph)
        return z.sum() * 0.0
    if method == 'auto':
        method = 'gram' if n >= d else 'svd'

    if method == 'svd':
        # singular values in descending order; backward is U diag(g) V^T, safe for
        # repeated or vanishing singular values (no 1 / (s_i^2 - s_j^2) terms)
        sv = torch.linalg.svdvals(z)
        tail = sv[rank:]
        if norm == 'fro':
            # vector_norm's backward is s / ||s|| and 0 at ||s|| = 0: finite
            return torch.linalg.vector_norm(tail)
        return tail.sum()

    # Gram path: G = Z^T Z (D x D), eigenvalues lambda_i = sigma_i^2. Computed in
    # float64 by default: G squares Z's condition number, so float32 loses the
    # trailing sigma_i below ~sqrt(float32 eps) * sigma_1 (measured errors: 100 %+
    # for a rank-4 + 1e-3-noise matrix in float32, 3e-7 in float64).
    out_dtype = z.dtype
    wide = gram_dtype == 'float64' or z.dtype == torch.float64  # never below the input
    zz = z.to(torch.float64 if wide else torch.float32)
    gram = zz.transpose(0, 1) @ zz
    evals = torch.linalg.eigvalsh(gram).flip(-1)  # descending
    trace = gram.diagonal().sum()  # = ||Z||_F^2 = sum of all lambda_i
    if eps is None:
        eps = 100.0 * torch.finfo(gram.dtype).eps
    floor = eps * trace.detach()
    if norm == 'fro':
        # sum_{i>r} sigma_i^2 = trace(G) - sum_{i<=r} lambda_i (exact identity); its
        # gradient (I - V_r V_r^T) needs only the top-r eigenvectors
        loss = _sqrt_above(trace - evals[:rank].sum(), floor)
    else:
        loss = _sqrt_above(evals[rank:], floor).sum()
    return loss.to(out_dtype)


@MODELS.register_module()
class SpectralLoss(nn.Module):
    """Teacher-free spectral regulariser: penalise the student's singular values
    beyond the r-th.

    With the student feature matrix ``Z`` (N, D) of the batch (every pixel of every
    image one row: N = B * H * W, D = C) and its SVD ``Z = sum_i sigma_i u_i v_i^T``
    (sigma_1 >= sigma_2 >= ... >= sigma_k >= 0, k = min(N, D))::

        L = loss_weight * || Z - sum_{i<=r} sigma_i u_i v_i^T ||
          = loss_weight * sqrt( sum_{i>r} sigma_i^2 )      norm='fro'
          = loss_weight * sum_{i>r} sigma_i                 norm='nuclear'

    i.e. the distance of Z to its best rank-r approximation (Eckart-Young). This is
    the "student regularisation" term of the decomposed distillation loss
    (supplementary 6.13-6.15, eq. 18) used on its own, without a teacher
    (section 4.5, supplementary 6.11 / Table 9: r = 2 best on NYUv2; METHOD.md
    "Teacher-free spectral regulariser"). ``rank >= k`` gives 0.

    Design choices:

    * **No centring** (default ``center=False``): the paper penalises the residual
      of the batch's feature matrix itself, so the channel means (the mean feature
      is typically the largest singular direction) are part of Z. ``center=True``
      subtracts the per-channel mean over the N rows first (a PCA-style spectrum).
    * **No normalisation** (default ``normalize=False``): L is the norm of the
      un-scaled N x D matrix, exactly the formula above, so it grows like sqrt(N)
      with batch size and resolution (fro and nuclear alike). ``normalize=True``
      evaluates the same formula on ``Z / sqrt(N)`` (both norms are absolutely
      homogeneous, so this is L / sqrt(N)): the per-row RMS scale, which keeps
      ``loss_weight`` comparable across batch and feature-map sizes.
    * **method**: ``'gram'`` takes the eigenvalues lambda_i = sigma_i^2 of the
      D x D Gram matrix ``G = Z^T Z`` (``torch.linalg.eigvalsh``; O(N D^2) time,
      O(D^2) extra memory), in float64 by default (``gram_dtype``), with the fro
      tail as ``trace(G) - sum_{i<=r} lambda_i``. ``'svd'`` uses
      ``torch.linalg.svdvals(Z)`` in float32 (or float64 for float64 inputs).
      ``'auto'`` (default) picks ``'gram'`` when N >= D, else ``'svd'``. Both
      backward passes involve the singular/eigen *vectors* only through
      ``U diag(g) V^T`` / ``V diag(g) V^T`` (there are no 1 / (lambda_i - lambda_j)
      terms when only values are differentiated), so gradients stay finite for
      repeated or vanishing singular values.
    * **eps** (Gram path only): a trailing energy ``sum_{i>r} lambda_i`` (fro) or
      eigenvalue lambda_i (nuclear) at or below ``eps * trace(G)`` is round-off and
      counts as exactly 0 with a zero gradient (the square root's slope is
      infinite at 0). Default ``100 * finfo(gram dtype).eps`` (2.2e-14 for
      float64), i.e. sigma_i below ~1.5e-7 * ||Z||_F are dropped. The SVD path
      needs no floor (its fro uses ``vector_norm``, whose gradient is 0 at 0).
    * Half-precision (float16 / bfloat16) inputs are computed in float32 (Gram:
      float64) and the loss is returned as float32.
    * Under DDP each process uses its own per-GPU batch (features are not
      gathered across processes).

    Args:
        rank (int): r, the number of leading singular values left unpenalised.
            Defaults to 2 (Table 9).
        norm (str): ``'fro'`` (Frobenius, default) or ``'nuclear'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        method (str): ``'auto'``, ``'gram'`` or ``'svd'``. Defaults to ``'auto'``.
        eps (float, optional): Relative round-off floor of the Gram path (above).
        center (bool): Subtract the per-channel mean over rows. Defaults to False.
        normalize (bool): Use ``Z / sqrt(N)``. Defaults to False.
        gram_dtype (str): ``'float64'`` (default) or ``'float32'`` for the Gram
            path; float32 is faster on consumer GPUs but cannot resolve
            sigma_i < ~3e-4 * sigma_1.

    Shapes:
        feat: (B, C, H, W) student feature map (rows = pixels, N = B * H * W,
        D = C) or an (N, D) matrix. Returns a scalar (float32 for half inputs).

    Raises:
        ValueError: for ``rank < 0`` (or not an int), an unknown ``norm``,
            ``method`` or ``gram_dtype`` (the valid choices are listed), or an input
            that is neither 4-D nor 2-D (its shape is named).
    """

    def __init__(self,
                 rank: int = 2,
                 norm: str = 'fro',
                 loss_weight: float = 1.0,
                 method: str = 'auto',
                 eps: Optional[float] = None,
                 center: bool = False,
                 normalize: bool = False,
                 gram_dtype: str = 'float64') -> None:
        super().__init__()
        if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or rank < 0:
            raise ValueError(f'SpectralLoss rank must be an integer >= 0, got {rank!r}')
        if norm not in SPECTRAL_NORMS:
            raise ValueError(f'SpectralLoss norm must be one of {SPECTRAL_NORMS}, got {norm!r}')
        if method not in SPECTRAL_METHODS:
            raise ValueError(f'SpectralLoss method must be one of {SPECTRAL_METHODS}, '
                             f'got {method!r}')
        if gram_dtype not in GRAM_DTYPES:
            raise ValueError(f'SpectralLoss gram_dtype must be one of {GRAM_DTYPES}, '
                             f'got {gram_dtype!r}')
        if eps is not None and not eps >= 0:
            raise ValueError(f'SpectralLoss eps must be >= 0 (or None), got {eps!r}')
        self.rank = int(rank)
        self.norm = norm
        self.loss_weight = loss_weight
        self.method = method
        self.eps = eps
        self.center = center
        self.normalize = normalize
        self.gram_dtype = gram_dtype

    @float32_loss
    def forward(self, feat: Tensor) -> Tensor:
        """Weighted spectral residual of one student feature.

        Args:
            feat (Tensor): (B, C, H, W) map or (N, C) matrix; the rows of Z are
                its B*H*W pixel feature vectors (or the N given rows).

        Returns:
            Tensor: scalar, float32 for half-precision inputs.

        Raises:
            ValueError: for any other number of dimensions (ViT tokens: pass
                ``tokens.flatten(0, 1)``).
        """
        z = features_to_rows(feat)
        if self.center and z.shape[0] > 0:
            z = z - z.mean(dim=0, keepdim=True)
        loss = spectral_residual(z, self.rank, self.norm, self.method, self.gram_dtype,
                                 self.eps)
        if self.normalize and z.shape[0] > 0:
            loss = loss / (z.shape[0] ** 0.5)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'rank={self.rank}, norm={self.norm!r}, loss_weight={self.loss_weight}, '
                f'method={self.method!r}, center={self.center}, normalize={self.normalize}')

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Teacher-free spectral regulariser: the residual of the best rank-r reconstruction
of the student's batch feature matrix (paper section 4.5; supplementary 6.11, Table 9)."""
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
    """``|| Z - sum_{i<=rank} sigma_i u_i v_i^T ||`` of an (N, D) matrix, unweighted
    (see :class:`SpectralLoss`; no argument checks). A scalar of ``z``'s dtype."""
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
    """Penalise the student's singular values beyond the r-th.

    With the batch's feature matrix ``Z`` (N, D) (:func:`features_to_rows`: every
    pixel a row) and its SVD ``Z = sum_i sigma_i u_i v_i^T``::

        L = loss_weight * || Z - sum_{i<=r} sigma_i u_i v_i^T ||
          = loss_weight * sqrt(sum_{i>r} sigma_i^2)      norm='fro'
          = loss_weight * sum_{i>r} sigma_i               norm='nuclear'

    the distance of Z to its best rank-r approximation (Eckart-Young): the "student
    regularisation" term of eq. 18 (supplementary 6.13-6.15) used without a teacher;
    r = 2 is best on NYUv2 (Table 9). ``rank >= min(N, D)`` gives 0.

    * ``center=False`` (default): Z as it is, channel means included (the mean
      feature is typically the largest direction); True subtracts them first.
    * ``normalize=False`` (default): L grows like sqrt(N) with batch and resolution;
      True evaluates it on ``Z / sqrt(N)``, keeping ``loss_weight`` comparable
      across sizes.
    * ``method``: ``'gram'`` takes the eigenvalues of ``G = Z^T Z`` (D x D,
      ``eigvalsh``, in ``gram_dtype``; fro tail ``trace(G) - sum_{i<=r} lambda_i``),
      ``'svd'`` ``svdvals(Z)``; ``'auto'`` picks ``'gram'`` when N >= D. Only values
      are differentiated, so gradients stay finite for repeated or vanishing
      singular values.
    * ``eps`` (Gram path): a tail at or below ``eps * trace(G)`` is round-off and
      counts as 0 with a zero gradient; default ``100 * finfo(gram dtype).eps``
      (sigma_i below ~1.5e-7 ||Z||_F in float64).
    * Under DDP each process uses its own batch (features are not gathered).

    Args:
        rank (int): r, the leading singular values left unpenalised. Defaults to 2.
        norm (str): ``'fro'`` (default) or ``'nuclear'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        method (str): ``'auto'`` (default), ``'gram'`` or ``'svd'``.
        eps (float, optional): Relative round-off floor of the Gram path.
        center (bool): Subtract the per-channel mean. Defaults to False.
        normalize (bool): Use ``Z / sqrt(N)``. Defaults to False.
        gram_dtype (str): ``'float64'`` (default) or ``'float32'`` (faster on
            consumer GPUs, blind to sigma_i < ~3e-4 sigma_1).

    Shapes:
        feat: (B, C, H, W) or (N, D). Returns a scalar, float32 for half inputs.

    Raises:
        ValueError: for ``rank`` not an integer >= 0, an unknown ``norm``,
            ``method`` or ``gram_dtype`` (choices listed), a negative ``eps``, or an
            input neither 4-D nor 2-D (shape named).
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
        self.rank, self.norm, self.loss_weight = int(rank), norm, loss_weight
        self.method, self.eps, self.gram_dtype = method, eps, gram_dtype
        self.center, self.normalize = center, normalize

    @float32_loss
    def forward(self, feat: Tensor) -> Tensor:
        """(B, C, H, W) map or (N, C) rows -> scalar (ViT tokens: pass
        ``tokens.flatten(0, 1)``)."""
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

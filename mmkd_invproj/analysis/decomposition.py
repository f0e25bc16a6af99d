# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The feature-distillation loss split into knowledge transfer and student
regularisation (supplementary 6.13-6.15, eq. 13-18).

With the projected features ``Z_t P`` (b x d, rank r, eq. 11) and the SVD of the
student features ``Z_s = sum_i sigma_i u_i v_i^T`` (eq. 15)::

    Z_t P - Z_s = K - R,
    K = Z_t P - sum_{i<=r} sigma_i u_i v_i^T     (knowledge transfer)
    R =         sum_{i>r}  sigma_i u_i v_i^T     (student regularisation)

so ``||Z_t P - Z_s|| <= ||K|| + ||R||`` (eq. 18) and, for the squared Frobenius norm
that the FitNets loss averages, ``||Z_t P - Z_s||^2 = ||K||^2 + ||R||^2 - 2 <K, R>``
with ``<K, R> = <Z_t P, R>``: the two terms add up to the loss exactly when the
projected teacher features lie in the student's top-r singular subspace. ``||R||`` is
``SpectralLoss(rank=r)`` of the student. Eq. 18 prints ``+`` before its second sum;
the identity needs ``-`` (the norm of R is the same). For a traditional projector
(``Z_s P`` against the teacher) the split falls on the teacher's spectrum: R is then a
constant of the frozen teacher with no gradient.
"""
import math
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

from ..losses.spectral import features_to_rows
from .spectrum import numerical_rank, projector_singular_values


def low_rank_part(z: Tensor, rank: int) -> Tensor:
    """The best rank-``rank`` approximation ``sum_{i<=rank} sigma_i u_i v_i^T`` of
    ``z`` (Eckart-Young: eq. 15 truncated at ``rank``).

    Args:
        z (Tensor): (b, d) matrix, any float dtype (computed in float64).
        rank (int): Leading singular triplets kept, ``>= 0``; at or above
            ``min(b, d)`` ``z`` itself is returned.

    Returns:
        Tensor: (b, d) float64.

    Raises:
        ValueError: for a non-2-D ``z`` or a negative ``rank``.
    """
    if z.dim() != 2:
        raise ValueError(f'low_rank_part expects a (b, d) matrix, got shape {tuple(z.shape)}')
    if rank < 0:
        raise ValueError(f'rank must be >= 0, got {rank}')
    z = z.detach().to(torch.float64)
    if rank >= min(z.shape):
        return z.clone()
    u, s, vh = torch.linalg.svd(z, full_matrices=False)
    return (u[:, :rank] * s[:rank]) @ vh[:rank]


def decompose_distill_loss(pred: Tensor, target: Tensor, rank: Optional[int] = None,
                           threshold: float = 0.01) -> Dict[str, float]:
    """Split ``||pred - target||`` into ``K`` and ``R`` (eq. 16-18).

    For the inverted projection ``pred = Z_t P`` and ``target = Z_s`` (eq. 13).

    Args:
        pred (Tensor): (b, d) the projected side (rows: pixels, columns: channels).
        target (Tensor): (b, d) the side it is compared with.
        rank (int, optional): r. None: the numerical rank of ``pred`` at
            ``threshold`` (:func:`~.spectrum.numerical_rank`).
        threshold (float): Relative tolerance of that rank. Defaults to 0.01.

    Returns:
        dict[str, float]: in float64 squared feature units: ``rank`` (r),
        ``full_sq`` (``||pred - target||_F^2``), ``transfer_sq`` (``||K||_F^2``),
        ``regularisation_sq`` (``||R||_F^2 = sum_{i>r} sigma_i(target)^2``), ``cross``
        (``-2 <K, R>``), ``residual`` (``full_sq - transfer_sq - regularisation_sq``,
        equal to ``cross`` up to round-off), ``identity_error``
        (``||(pred - target) - (K - R)||_F``); and the norms ``full``, ``transfer``,
        ``regularisation`` with ``bound_slack = transfer + regularisation - full``
        (>= 0, eq. 18's inequality).

    Raises:
        ValueError: when the shapes differ or are not 2-D.
    """
    if pred.shape != target.shape or pred.dim() != 2:
        raise ValueError(f'pred and target must be (b, d) matrices of one shape, got '
                         f'{tuple(pred.shape)} and {tuple(target.shape)}; flatten maps with '
                         'features_to_rows first')
    p = pred.detach().to(torch.float64)
    t = target.detach().to(torch.float64)
    if rank is None:
        rank = numerical_rank(torch.linalg.svdvals(p).numpy(), threshold)
    head = low_rank_part(t, rank)
    k, r, d = p - head, t - head, p - t
    full_sq, transfer_sq, reg_sq = (float((x * x).sum()) for x in (d, k, r))
    out = dict(
        rank=int(rank), full_sq=full_sq, transfer_sq=transfer_sq, regularisation_sq=reg_sq,
        cross=float(-2.0 * (k * r).sum()), residual=full_sq - transfer_sq - reg_sq,
        identity_error=float(torch.linalg.norm(d - (k - r))),
        full=math.sqrt(full_sq), transfer=math.sqrt(transfer_sq),
        regularisation=math.sqrt(reg_sq))
    out['bound_slack'] = out['transfer'] + out['regularisation'] - out['full']
    return out


def loss_scale(loss_module, pred: Tensor) -> Optional[float]:
    """The factor from squared Frobenius norms to the units of the logged loss:
    ``loss_weight / numel`` for ``FitNetsLoss``; None for any loss that is not the
    squared L2 distance."""
    if type(loss_module).__name__ == 'FitNetsLoss':
        return float(loss_module.loss_weight) / pred.numel()
    return None


def decompose_batch(model, batch: dict, rank: Optional[int] = None,
                    threshold: float = 0.01) -> List[dict]:
    """Decompose every pair's loss on one batch (``CrossTaskDistiller.pair_outputs``,
    without gradient, in the model's current mode).

    Args:
        model: A built :class:`~mmkd_invproj.distillers.CrossTaskDistiller`.
        batch (dict): A dataloader batch (``inputs``, ``data_samples``).
        rank (int, optional): One r for every pair (default: the numerical rank of
            each pair's ``pred``).
        threshold (float): Relative tolerance of the numerical ranks.

    Returns:
        list[dict]: per pair: ``name``, ``loss`` (its type), ``logged`` (the value
        of ``loss_distill_<name>``), ``projector`` (type, None for a pair without
        one) and, with a projector, ``side`` (``projected_side``), ``scale``
        (:func:`loss_scale`), ``rows``, ``channels``, ``rank_P`` (numerical rank of
        P) and the keys of :func:`decompose_distill_loss`.
    """
    with torch.no_grad():
        data = model.data_preprocessor(batch, True)
        _, outputs = model.pair_outputs(data['inputs'], data['data_samples'])
    results = []
    for spec in model.pairs.specs:
        out = outputs[spec.name]
        loss_module = model.pairs.distill_losses[spec.name]
        res = dict(name=spec.name, loss=type(loss_module).__name__, logged=float(out.loss),
                   projector=None)
        if out.pred is not None and spec.name in model.pairs.projectors:
            projector = model.pairs.projectors[spec.name]
            pred, target = features_to_rows(out.pred), features_to_rows(out.target)
            res.update(decompose_distill_loss(pred, target, rank, threshold))
            res.update(projector=type(projector).__name__, side=projector.projected_side,
                       scale=loss_scale(loss_module, pred), rows=int(pred.shape[0]),
                       channels=int(pred.shape[1]),
                       rank_P=numerical_rank(projector_singular_values(
                           projector.weight_matrix), threshold))
        results.append(res)
    return results


def load_distiller_batch(config: str, checkpoint: str, split: str = 'train',
                         batch_size: Optional[int] = None, batch_index: int = 0,
                         seed: int = 0, cfg_options: Optional[dict] = None
                         ) -> Tuple[torch.nn.Module, dict]:
    """A ``CrossTaskDistiller`` loaded strictly from ``checkpoint``, in eval mode
    (BatchNorm running statistics), and one batch of its ``split`` dataloader.

    Args:
        config (str): The config the checkpoint was trained with.
        checkpoint (str): Distiller checkpoint.
        split (str): ``'train'`` or ``'val'``.
        batch_size (int, optional): Overrides the dataloader's.
        batch_index (int): Which batch.
        seed (int): Seed of the augmentation and of the model build.
        cfg_options (dict, optional): Config overrides.

    Raises:
        TypeError: when the config does not build a ``CrossTaskDistiller``.
        ValueError: when it has no dataloader for ``split``.
        IndexError: for a ``batch_index`` past the last batch.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner, load_checkpoint
    from mmengine.runner.utils import set_random_seed

    from ..registry import MODELS
    from ..utils import mmengine_checkpoint_globals
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    set_random_seed(seed)
    model = MODELS.build(cfg.model)
    if type(model).__name__ != 'CrossTaskDistiller':
        raise TypeError(f'{config} builds a {type(model).__name__}; this tool needs a '
                        'CrossTaskDistiller config (model.type="CrossTaskDistiller")')
    with mmengine_checkpoint_globals():
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='current')
    model.eval()
    loader_cfg = cfg.get(f'{split}_dataloader')
    if not loader_cfg:
        raise ValueError(f'{config} has no {split}_dataloader; choose the other split or '
                         'add the dataloader with --cfg-options')
    loader_cfg = dict(loader_cfg, num_workers=0, persistent_workers=False)
    if batch_size is not None:
        loader_cfg['batch_size'] = batch_size
    for i, batch in enumerate(Runner.build_dataloader(loader_cfg, seed=seed)):
        if i == batch_index:
            return model, batch
    raise IndexError(f'batch index {batch_index} is past the last batch ({i})')


def format_result(res: dict) -> str:
    """Lines for one entry of :func:`decompose_batch`, in the logged loss's units
    where :func:`loss_scale` knows them."""
    name = res['name']
    if res.get('projector') is None:
        return (f'pair "{name}": no projector / teacher-free ({res["loss"]}), '
                f'loss_distill_{name} = {res["logged"]:.6g}; nothing to decompose')
    inverted = res['side'] == 'teacher'
    scale = res['scale']
    unit = 'loss units' if scale is not None else 'squared feature units'
    f = scale if scale is not None else 1.0
    reg_label = ('student regularisation ||R||^2  ' if inverted else
                 'teacher tail (constant) ||R||^2 ')
    pred_name = 'Z_t P' if inverted else 'Z_s P'
    lines = [
        f'pair "{name}": {res["projector"]} + {res["loss"]}, b = {res["rows"]} rows x '
        f'd = {res["channels"]} channels; numerical rank of P = {res["rank_P"]}, '
        f'r = rank({pred_name}) = {res["rank"]}',
        f'  logged {"loss_distill_" + name:<26s} {res["logged"]:.6g}',
        f'  full ||pred - target||^2          {f * res["full_sq"]:.6g}   ({unit})',
        f'  knowledge transfer ||K||^2        {f * res["transfer_sq"]:.6g}',
        f'  {reg_label}  {f * res["regularisation_sq"]:.6g}',
        f'  residual full - (K + R terms)     {f * res["residual"]:.6g}   '
        f'({100.0 * res["residual"] / res["full_sq"] if res["full_sq"] else 0.0:.3g} % '
        f'of full; = cross term -2<K,R> {f * res["cross"]:.6g})',
        f'  eq. 18 norms: ||pred - target|| = {res["full"]:.6g} <= ||K|| + ||R|| = '
        f'{res["transfer"] + res["regularisation"]:.6g} (slack {res["bound_slack"]:.3g}); '
        f'identity error {res["identity_error"]:.2e}',
    ]
    if scale is None:
        lines.append(f'  ({res["loss"]} is not the squared L2 distance: the terms decompose '
                     'the L2 distance of the same features, not the logged value)')
    else:
        lines.append(f'  logged - full = {res["logged"] - f * res["full_sq"]:.3g}')
    if not inverted:
        lines.append('  (traditional projection: R is the frozen teacher\'s spectrum beyond r, '
                     'a constant with no gradient: no student regularisation)')
    return '\n'.join(lines)

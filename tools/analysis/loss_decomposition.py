# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Split the feature-distillation loss of a trained CrossTaskDistiller into the two
terms of supplementary eq. 18: knowledge transfer + student regularisation.

Supplementary 6.13-6.15. With the projected features ``Zp = Z_t P`` (b x d, rank
``r``) and the SVD of the student features ``Z_s = sum_i sigma_i u_i v_i^T``, the
distillation residual splits exactly (eq. 16-18) as::

    Z_t P - Z_s = K - R,
    K = Z_t P - sum_{i<=r} sigma_i u_i v_i^T     (knowledge transfer)
    R =         sum_{i>r}  sigma_i u_i v_i^T     (student regularisation)

so ``||Z_t P - Z_s|| <= ||K|| + ||R||`` (eq. 18, triangle inequality), and for the
squared Frobenius norm that the FitNets loss averages::

    ||Z_t P - Z_s||^2 = ||K||^2 + ||R||^2 - 2 <K, R>,    <K, R> = <Z_t P, R>.

The two terms add up to the loss exactly when the cross term vanishes, i.e. when the
projected teacher features lie in the student's top-r singular subspace. ``||R||``
is ``SpectralLoss(rank=r)`` of the student: the regulariser that pushes the
student's singular values beyond the r-th to zero. The paper prints ``+`` before the
second sum of eq. 18; the identity needs ``-`` (the norm of R is unaffected).

For a traditional projector (``Z_s P`` against the teacher) the same algebra splits
the *teacher's* spectrum: the "regularisation" term is then a constant of the frozen
teacher and no gradient reaches it (printed as such).

Usage::

    python tools/analysis/loss_decomposition.py CONFIG CHECKPOINT \
        [--split train|val] [--batch-size N] [--rank R] [--threshold 0.01] \
        [--cfg-options key=value ...]

One batch of the config's train dataloader (or of the val set with ``--split val``)
is run through the distiller in eval mode (BatchNorm running statistics; the
features of a loss computed without gradient) and, for every teacher pair, the
logged ``loss_distill_<name>`` is printed next to the decomposition, in the units of
that loss (``loss_weight / numel`` times squared norms for ``FitNetsLoss``).
"""
import argparse
import logging
import math
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, REPO)

from mmkd_invproj.hooks.projector_spectrum import numerical_rank  # noqa: E402
from mmkd_invproj.losses.spectral import features_to_rows  # noqa: E402


def low_rank_part(z: Tensor, rank: int) -> Tensor:
    """The best rank-``rank`` approximation ``sum_{i<=rank} sigma_i u_i v_i^T`` of ``z``.

    Eckart-Young: the truncated SVD (supplementary eq. 15 truncated at ``rank``).

    Args:
        z (Tensor): (b, d) matrix, any float dtype (computed in float64).
        rank (int): Number of leading singular triplets kept, ``0 <= rank``; a rank
            at or above ``min(b, d)`` returns ``z`` itself.

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
    """Supplementary eq. 16-18: split ``||pred - target||`` into knowledge transfer
    and target (student) regularisation.

    For the inverted projection ``pred = Z_t P`` and ``target = Z_s`` (eq. 13). With
    ``r`` the rank of ``pred`` (eq. 11, r-bar_t) and the SVD of ``target``:
    ``K = pred - target_{<=r}`` (knowledge transfer, the first term of eq. 18) and
    ``R = target - target_{<=r} = target_{>r}`` (student regularisation, the second
    term). ``pred - target = K - R`` holds exactly.

    Args:
        pred (Tensor): (b, d) the projected side (rows = pixels, columns = channels).
        target (Tensor): (b, d) the side it is compared with.
        rank (int, optional): r. None: the numerical rank of ``pred``, the number of
            its singular values ``> threshold * sigma_1`` (Figure 4's tolerance).
        threshold (float): Relative tolerance for the numerical rank. Defaults to 0.01.

    Returns:
        dict[str, float]: ``rank`` (r, int), ``full_sq`` (``||pred - target||_F^2``),
        ``transfer_sq`` (``||K||_F^2``), ``regularisation_sq`` (``||R||_F^2`` =
        ``sum_{i>r} sigma_i(target)^2``), ``cross`` (``-2 <K, R>`` =
        ``-2 <pred, R>``), ``residual`` (``full_sq - transfer_sq -
        regularisation_sq``: what the two terms miss, equal to ``cross`` up to
        round-off), ``identity_error`` (``||(pred - target) - (K - R)||_F``, round-off
        only), and the unsquared norms ``full``, ``transfer``, ``regularisation``
        with ``bound_slack = transfer + regularisation - full >= 0`` (eq. 18's
        inequality). All in float64 squared feature units.

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
    k = p - head
    r = t - head
    d = p - t
    full_sq = float((d * d).sum())
    transfer_sq = float((k * k).sum())
    reg_sq = float((r * r).sum())
    out = dict(
        rank=int(rank), full_sq=full_sq, transfer_sq=transfer_sq, regularisation_sq=reg_sq,
        cross=float(-2.0 * (k * r).sum()),
        residual=full_sq - transfer_sq - reg_sq,
        identity_error=float(torch.linalg.norm(d - (k - r))),
        full=math.sqrt(full_sq), transfer=math.sqrt(transfer_sq),
        regularisation=math.sqrt(reg_sq))
    out['bound_slack'] = out['transfer'] + out['regularisation'] - out['full']
    return out


def loss_scale(loss_module, pred: Tensor) -> Optional[float]:
    """Factor turning squared Frobenius norms into the units of the logged loss.

    ``FitNetsLoss`` logs ``loss_weight * ||pred - target||_F^2 / numel``; any other
    loss is not the squared L2 distance, so None (the decomposition is then shown
    in squared feature units, next to the logged value for reference).
    """
    if type(loss_module).__name__ == 'FitNetsLoss':
        return float(loss_module.loss_weight) / pred.numel()
    return None


def decompose_batch(model, batch: dict, rank: Optional[int] = None,
                    threshold: float = 0.01) -> List[dict]:
    """Run one batch through a distiller and decompose every teacher pair's loss.

    Args:
        model: A built (and loaded) :class:`CrossTaskDistiller`, in the mode wanted.
        batch (dict): A batch from an MMEngine dataloader (``inputs``, ``data_samples``).
        rank (int, optional): Fixed r for every pair (default: the numerical rank of
            each pair's ``pred``).
        threshold (float): Relative tolerance of the numerical ranks.

    Returns:
        list[dict]: one dict per pair: ``name``, ``projector``, ``loss``, ``logged``
        (the value of ``loss_distill_<name>``) and, for teacher pairs,
        ``scale`` (see :func:`loss_scale`), ``rows``, ``channels``, ``rank_P`` (numerical
        rank of the projector weight) and the keys of :func:`decompose_distill_loss`.
    """
    with torch.no_grad():
        data = model.data_preprocessor(batch, True)
        _, outputs = model.pair_outputs(data['inputs'], data['data_samples'])
    results = []
    for spec in model.pairs.specs:
        out = outputs[spec.name]
        loss_module = model.pairs.distill_losses[spec.name]
        res = dict(name=spec.name, loss=type(loss_module).__name__, logged=float(out.loss))
        if out.pred is None or spec.name not in model.pairs.projectors:
            res['projector'] = None
            results.append(res)
            continue
        projector = model.pairs.projectors[spec.name]
        pred, target = features_to_rows(out.pred), features_to_rows(out.target)
        res.update(decompose_distill_loss(pred, target, rank, threshold))
        res.update(projector=type(projector).__name__, side=projector.projected_side,
                   scale=loss_scale(loss_module, pred), rows=int(pred.shape[0]),
                   channels=int(pred.shape[1]),
                   rank_P=numerical_rank(torch.linalg.svdvals(
                       projector.weight_matrix.detach().double()).numpy(), threshold))
        results.append(res)
    return results


def format_result(res: dict) -> str:
    """Human-readable lines for one entry of :func:`decompose_batch`."""
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


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Print the knowledge-transfer and student-regularisation terms of '
        'supplementary eq. 18 for every pair of a CrossTaskDistiller checkpoint.')
    parser.add_argument('config', help='the config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='CrossTaskDistiller checkpoint (.pth)')
    parser.add_argument('--split', choices=['train', 'val'], default='train',
                        help='dataloader to take the batch from (default: train)')
    parser.add_argument('--batch-size', type=int, default=None,
                        help='override the dataloader batch size')
    parser.add_argument('--batch-index', type=int, default=0,
                        help='which batch of the dataloader (default: the first)')
    parser.add_argument('--rank', type=int, default=None,
                        help='fixed r (default: numerical rank of the projected features)')
    parser.add_argument('--threshold', type=float, default=0.01,
                        help='relative tolerance of the numerical rank (Figure 4: 0.01)')
    parser.add_argument('--seed', type=int, default=0, help='seed for the data augmentation')
    parser.add_argument('--verbose', action='store_true',
                        help="show MMEngine's model-building and checkpoint messages")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner, load_checkpoint
    from mmengine.runner.utils import set_random_seed

    import mmkd_invproj  # noqa: F401
    from mmkd_invproj.registry import MODELS
    from mmkd_invproj.utils import mmengine_checkpoint_globals

    args = parse_args(argv)
    if not args.verbose:  # MMEngine's per-parameter init report and load messages
        MMLogger.get_current_instance().setLevel(logging.WARNING)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    set_random_seed(args.seed)
    model = MODELS.build(cfg.model)
    if type(model).__name__ != 'CrossTaskDistiller':
        raise TypeError(f'{args.config} builds a {type(model).__name__}; this tool needs a '
                        'CrossTaskDistiller config (model.type="CrossTaskDistiller")')
    with mmengine_checkpoint_globals():
        load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    model.eval()

    loader_cfg = cfg.get(f'{args.split}_dataloader')
    if not loader_cfg:
        raise ValueError(f'{args.config} has no {args.split}_dataloader; choose the other '
                         '--split or add the dataloader with --cfg-options')
    loader_cfg = dict(loader_cfg, num_workers=0, persistent_workers=False)
    if args.batch_size is not None:
        loader_cfg['batch_size'] = args.batch_size
    loader = Runner.build_dataloader(loader_cfg, seed=args.seed)
    for i, batch in enumerate(loader):
        if i == args.batch_index:
            break
    else:
        raise IndexError(f'--batch-index {args.batch_index} is past the last batch ({i})')

    results = decompose_batch(model, batch, args.rank, args.threshold)
    print(f'{args.checkpoint}: {args.split} batch {args.batch_index} '
          f'({len(batch["inputs"])} images)')
    for res in results:
        print(format_result(res))
    return results


if __name__ == '__main__':
    main()

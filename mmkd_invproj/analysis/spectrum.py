# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Singular values and ranks of the projector P, and their plot over training
(supplementary 6.9, Figure 4)."""
import json
import math
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import numpy as np
import torch


def projector_singular_values(weight: torch.Tensor) -> np.ndarray:
    """Singular values (descending, float64) of a projector's (out, in) weight matrix
    (a 1x1 convolution's (out, in, 1, 1) weight is flattened)."""
    w = weight.detach().to(device='cpu', dtype=torch.float64)
    if w.dim() != 2:
        w = w.flatten(1)
    return torch.linalg.svdvals(w).numpy()


def numerical_rank(singular_values: Sequence[float], threshold: float = 0.01) -> int:
    """Number of singular values ``> threshold * sigma_1`` (Figure 4: 0.01); 0 for an
    empty spectrum or a zero matrix. NaN entries (padding) never count."""
    sv = np.asarray(singular_values, dtype=np.float64)
    sigma_1 = float(np.nanmax(sv)) if sv.size and not np.isnan(sv).all() else 0.0
    if not sigma_1 > 0:
        return 0
    return int(np.count_nonzero(sv > threshold * sigma_1))


def effective_rank(singular_values: Sequence[float]) -> float:
    """``exp(-sum_i p_i log p_i)`` with ``p_i = sigma_i / sum_j sigma_j`` (Roy &
    Vetterli, EUSIPCO 2007): between 1 and the number of nonzero singular values,
    continuous as the spectrum decays. Non-finite and zero entries are dropped; 0 for
    an all-zero spectrum."""
    sv = np.asarray(singular_values, dtype=np.float64)
    sv = sv[np.isfinite(sv) & (sv > 0)]
    if sv.size == 0:
        return 0.0
    p = sv / sv.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def load_spectrum(path: str) -> 'OrderedDict[str, Dict[str, np.ndarray]]':
    """Read the JSON lines of ``ProjectorSpectrumHook`` into per-projector arrays.

    Returns:
        OrderedDict: projector name (in order of first appearance) -> ``iters`` (T,)
        int, ``singular_values`` (T, K) float64 (NaN-padded when the count varies),
        ``numerical_rank`` (T,) int (recomputed where a record lacks it) and
        ``threshold`` (of the last record). Records are sorted by iteration; of an
        iteration written twice (a resumed run) the last line wins.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: for a file without records or a line missing ``iter``,
            ``projector`` or ``singular_values`` (the line number is named).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'no spectrum file at {path!r}')
    per_proj: 'OrderedDict[str, Dict[int, dict]]' = OrderedDict()
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            missing = [k for k in ('iter', 'projector', 'singular_values') if k not in rec]
            if missing:
                raise ValueError(f'{path}:{lineno} lacks keys {missing}; expected the output '
                                 'of ProjectorSpectrumHook')
            per_proj.setdefault(rec['projector'], {})[int(rec['iter'])] = rec
    if not per_proj:
        raise ValueError(f'{path!r} holds no records')
    out = OrderedDict()
    for name, by_iter in per_proj.items():
        iters = sorted(by_iter)
        recs = [by_iter[i] for i in iters]
        sv = np.full((len(recs), max(len(r['singular_values']) for r in recs)), np.nan)
        for t, r in enumerate(recs):
            sv[t, :len(r['singular_values'])] = r['singular_values']
        threshold = float(recs[-1].get('threshold', 0.01))
        ranks = [int(r['numerical_rank']) if 'numerical_rank' in r
                 else numerical_rank(sv[t], threshold) for t, r in enumerate(recs)]
        out[name] = dict(iters=np.asarray(iters, dtype=np.int64), singular_values=sv,
                         numerical_rank=np.asarray(ranks, dtype=np.int64),
                         threshold=threshold)
    return out


def plot_spectrum(spectra: Dict[str, Dict[str, np.ndarray]], out_file: str, ncols: int = 3,
                  floor: float = 1e-6, dpi: int = 120, title: Optional[str] = None) -> str:
    """Draw one panel per projector, as Figure 4, and save it as a PNG.

    Each panel shows every ``sigma_i / sigma_1`` over the iterations (log axis, one
    line per index, coloured from first to last), the rank tolerance as a dashed
    line and the numerical rank as a green area on a second axis.

    Args:
        spectra: Output of :func:`load_spectrum`.
        out_file (str): Image path; its folder is created.
        ncols (int): Panels per row.
        floor (float): Ratios below it are drawn at ``floor``.
        dpi (int): Resolution of the image.
        title (str, optional): Figure title.

    Returns:
        str: ``out_file``.

    Raises:
        ValueError: for an empty ``spectra``.
    """
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: no global backend or state
    if not spectra:
        raise ValueError('nothing to plot: no projector records')
    n = len(spectra)
    ncols = max(1, min(ncols, n))
    nrows = int(math.ceil(n / ncols))
    fig = Figure(figsize=(5.0 * ncols, 3.8 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, (name, spec) in zip(axes.flat, spectra.items()):
        iters, sv = spec['iters'], spec['singular_values']
        ranks, threshold = spec['numerical_rank'], spec['threshold']
        with np.errstate(divide='ignore', invalid='ignore'):
            rel = np.where(sv[:, :1] > 0, sv / sv[:, :1], np.nan)
        rel = np.clip(rel, floor, None)
        k = sv.shape[1]
        colors = matplotlib.colormaps['viridis'](np.linspace(0.0, 0.95, max(k, 1)))
        marker = 'o' if len(iters) == 1 else None
        for i in range(k):
            ax.plot(iters, rel[:, i], color=colors[i], lw=0.9, marker=marker, ms=3)
        ax.axhline(max(threshold, floor), color='tab:red', ls='--', lw=1.0,
                   label=f'tolerance {threshold:g} * $\\sigma_1$')
        ax.set_yscale('log')
        ax.set_ylim(floor * 0.5, 2.0)
        ax.set_xlabel('iteration')
        ax.set_ylabel('$\\sigma_i / \\sigma_1$')
        ax.set_title(f'{name}: rank {int(ranks[-1])}/{k} at iter {int(iters[-1])}')
        ax2 = ax.twinx()
        if len(iters) > 1:
            ax2.fill_between(iters, 0, ranks, step='post', color='tab:green', alpha=0.18)
            ax2.step(iters, ranks, where='post', color='tab:green', lw=1.2,
                     label='numerical rank')
        else:
            ax2.bar(iters, ranks, width=1.0, color='tab:green', alpha=0.3,
                    label='numerical rank')
        ax.set_zorder(ax2.get_zorder() + 1)  # spectrum lines above the green area
        ax.patch.set_visible(False)
        ax2.set_ylim(0, max(k, 1) * 1.05)
        ax2.set_ylabel('numerical rank', color='tab:green')
        ax2.tick_params(axis='y', colors='tab:green')
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc='lower left', fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis('off')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=dpi)
    return out_file

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Plot the evolution of the projectors' singular values (Figure 4 style).

Reads the JSONL written by ``ProjectorSpectrumHook`` (one line per projector and
record: ``iter``, ``projector``, ``singular_values``, ``numerical_rank``,
``threshold``) and draws one panel per projector: every singular value
``sigma_i / sigma_1`` over training iterations (log y axis, one line per index i,
coloured from the first to the last), the rank tolerance ``threshold`` as a dashed
line, and the numerical rank (count of ``sigma_i > threshold * sigma_1``) as a green
shaded area on a second y axis (Figure 4: "Green area highlights the rank of P").

Usage::

    python tools/analysis/plot_projector_spectrum.py \
        work_dirs/xxx/<timestamp>/projector_spectrum.jsonl --out fig.png
"""
import argparse
import json
import math
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def load_spectrum(path: str) -> 'OrderedDict[str, Dict[str, np.ndarray]]':
    """Read a spectrum JSONL into per-projector arrays.

    Returns:
        OrderedDict: projector name (in order of first appearance) -> dict with
        ``iters`` (T,) int, ``singular_values`` (T, K) float64 (NaN-padded when the
        count varies), ``numerical_rank`` (T,) int and ``threshold`` (float, of the
        last record). Records are sorted by iteration; when one iteration appears
        twice (e.g. a resumed run appended to the same file) the last line wins.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: for an empty file or a line missing a required key (the line
            number is named).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'no spectrum file at {path!r}')
    per_proj: 'OrderedDict[str, Dict[int, dict]]' = OrderedDict()
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
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
        k = max(len(r['singular_values']) for r in recs)
        sv = np.full((len(recs), k), np.nan)
        for t, r in enumerate(recs):
            sv[t, :len(r['singular_values'])] = r['singular_values']
        threshold = float(recs[-1].get('threshold', 0.01))
        ranks = []
        for t, r in enumerate(recs):
            if 'numerical_rank' in r:
                ranks.append(int(r['numerical_rank']))
            else:  # recompute when absent
                row = sv[t][np.isfinite(sv[t])]
                s1 = row.max() if row.size else 0.0
                ranks.append(int(np.count_nonzero(row > threshold * s1)) if s1 > 0 else 0)
        out[name] = dict(iters=np.asarray(iters, dtype=np.int64), singular_values=sv,
                         numerical_rank=np.asarray(ranks, dtype=np.int64),
                         threshold=threshold)
    return out


def plot_spectrum(spectra: Dict[str, Dict[str, np.ndarray]],
                  out_file: str,
                  ncols: int = 3,
                  floor: float = 1e-6,
                  dpi: int = 120,
                  title: Optional[str] = None) -> str:
    """Draw one panel per projector and save the figure to ``out_file`` (PNG).

    Args:
        spectra: Output of :func:`load_spectrum`.
        out_file: Image path; its folder is created.
        ncols: Panels per row.
        floor: ``sigma_i / sigma_1`` below this are drawn at ``floor`` (log axis).
        dpi: Resolution of the saved image.
        title: Figure title.

    Returns:
        str: ``out_file``.
    """
    if not spectra:
        raise ValueError('nothing to plot: no projector records')
    n = len(spectra)
    ncols = max(1, min(ncols, n))
    nrows = int(math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.0 * ncols, 3.8 * nrows), squeeze=False)
    for ax, (name, spec) in zip(axes.flat, spectra.items()):
        iters, sv = spec['iters'], spec['singular_values']
        ranks, threshold = spec['numerical_rank'], spec['threshold']
        sigma_1 = sv[:, :1]
        with np.errstate(divide='ignore', invalid='ignore'):
            rel = np.where(sigma_1 > 0, sv / sigma_1, np.nan)
        rel = np.clip(rel, floor, None)
        k = sv.shape[1]
        colors = plt.cm.viridis(np.linspace(0.0, 0.95, max(k, 1)))
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
        # numerical rank: green area on a second axis
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
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(out_file, dpi=dpi)
    plt.close(fig)
    return out_file


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Plot projector singular values over training (Figure 4 style) from '
        'the JSONL written by ProjectorSpectrumHook.')
    parser.add_argument('spectrum', help='projector_spectrum.jsonl')
    parser.add_argument('--out', default=None,
                        help='output PNG (default: the JSONL path with .png)')
    parser.add_argument('--ncols', type=int, default=3, help='panels per row')
    parser.add_argument('--floor', type=float, default=1e-6,
                        help='lowest sigma_i / sigma_1 drawn on the log axis')
    parser.add_argument('--dpi', type=int, default=120)
    parser.add_argument('--title', default=None)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    out = args.out or osp.splitext(args.spectrum)[0] + '.png'
    spectra = load_spectrum(args.spectrum)
    plot_spectrum(spectra, out, ncols=args.ncols, floor=args.floor, dpi=args.dpi,
                  title=args.title)
    print(f'wrote {out} ({len(spectra)} projector(s))')
    return out


if __name__ == '__main__':
    main()

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Plot the projectors' singular values over training (Figure 4) from the JSON lines
that ``ProjectorSpectrumHook`` writes::

    python tools/analysis/plot_projector_spectrum.py \
        work_dirs/xxx/<timestamp>/projector_spectrum.jsonl --out fig.png
"""
import argparse
import os.path as osp
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

from mmkd_invproj.analysis import load_spectrum, plot_spectrum  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
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


def main(argv=None) -> str:
    args = parse_args(argv)
    out = args.out or osp.splitext(args.spectrum)[0] + '.png'
    spectra = load_spectrum(args.spectrum)
    plot_spectrum(spectra, out, ncols=args.ncols, floor=args.floor, dpi=args.dpi,
                  title=args.title)
    print(f'wrote {out} ({len(spectra)} projector(s))')
    return out


if __name__ == '__main__':
    main()

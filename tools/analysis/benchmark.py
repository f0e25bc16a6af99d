# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Time what cross-task distillation costs on top of training the student alone.

    python tools/analysis/benchmark.py CONFIG [--batch B] [--input-size H W]
        [--warmup N] [--iters N] [--threads T] [--clock wall|cpu] [--amp]
        [--teacher-dtype DT] [--json OUT] [--cfg-options model.teacher.weights=None ...]

Phases (a) student step, (b) teacher forward to its last hooked module, (c) full
teacher forward, (d) distillation step, (e) (d) with a SpectralLoss pair
(``mmkd_invproj.analysis.benchmark``), timed in interleaved rounds with
``torch.utils.benchmark``; peak memory of (a) and (d); the projectors and losses
timed alone. One progress line per round; the last line printed is exactly::

    overhead = X.XXX, early_exit = Y.YYY, spectral = Z.ZZZ

with overhead = (d) / ((a) + (b)), early_exit = (b) / (c), spectral = (e) / (d) from
the medians. On a shared machine use ``--threads 1 --clock cpu``: the process CPU
time hardly moves when other jobs take cores away (with several threads, time
spinning in OpenMP barriers counts too). Inputs are real frames from ``../shared``
(``MMKD_SHARED``) or ``--images``, else noise; targets are synthetic depth maps.
"""
import argparse
import json
import os
import os.path as osp
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from mmkd_invproj.analysis import CLOCKS, format_report, load_config, run_benchmark  # noqa

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def default_image_dirs():
    """The real frames: ``$MMKD_SHARED`` or ``../shared`` beside the checkout."""
    shared = osp.abspath(os.environ.get('MMKD_SHARED', osp.join(REPO, '..', 'shared')))
    return [osp.join(shared, 'data', 'nyu_mini', 'images'),
            osp.join(shared, 'data', 'raw', 'nyu_rgb_only')]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='distillation config (CrossTaskDistiller with a teacher)')
    p.add_argument('--batch', type=int, default=2, help='batch size (default 2)')
    p.add_argument('--input-size', type=int, nargs=2, default=(224, 288), metavar=('H', 'W'),
                   help='input height and width in pixels (default 224 288)')
    p.add_argument('--warmup', type=int, default=3, help='discarded rounds (default 3)')
    p.add_argument('--iters', type=int, default=10, help='timed rounds (default 10)')
    p.add_argument('--spectral-rank', type=int, default=2, help='r of phase (e) (default 2)')
    p.add_argument('--spectral-module', default='decode_head.conv_in',
                   help='student module of the spectral pair (default decode_head.conv_in)')
    p.add_argument('--spectral-source', default='input', choices=('input', 'output'),
                   help="take the module's input (default) or output")
    p.add_argument('--amp', action='store_true', help='mixed precision (AMP optim wrapper)')
    p.add_argument('--amp-dtype', default='bfloat16', choices=('bfloat16', 'float16'),
                   help='autocast dtype under --amp (float16 on a GPU only)')
    p.add_argument('--teacher-dtype', choices=('bfloat16', 'float16', 'none'),
                   help='sets model.teacher_dtype (teacher weights kept in half precision)')
    p.add_argument('--device', help='cpu or cuda (default: cuda when available)')
    p.add_argument('--images', nargs='+', help='folders of RGB frames (default: shared/ data)')
    p.add_argument('--random-input', action='store_true',
                   help='standard normal inputs instead of real frames')
    p.add_argument('--threads', type=int, help='torch.set_num_threads')
    p.add_argument('--clock', choices=CLOCKS, default='wall',
                   help='wall (default) or cpu (process CPU time)')
    p.add_argument('--no-memory', action='store_true', help='skip the memory measurement')
    p.add_argument('--extra-iters', type=int, default=30,
                   help='rounds of the extra work of (d) and (e) timed alone (default 30)')
    p.add_argument('--json', help='also write the figures to this JSON file')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='config overrides, e.g. model.teacher.weights=None')
    args = p.parse_args(argv)
    for name in ('batch', 'warmup', 'iters', 'extra_iters'):
        if getattr(args, name) < (0 if name == 'warmup' else 1):
            p.error(f'--{name.replace("_", "-")} must be >= {0 if name == "warmup" else 1}')
    if min(args.input_size) < 32:
        p.error(f'--input-size must be at least 32 x 32 pixels, got {args.input_size}')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.cfg_options, args.amp, args.amp_dtype,
                      args.teacher_dtype)
    image_dirs = () if args.random_input else (args.images or default_image_dirs())
    result = run_benchmark(cfg, args.batch, tuple(args.input_size), args.warmup, args.iters,
                           args.spectral_rank, args.spectral_module, args.spectral_source,
                           args.amp, args.device, image_dirs, args.clock, not args.no_memory,
                           args.extra_iters, progress=lambda line: print(line, flush=True))
    result['info']['config'] = args.config
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    print('\n'.join([''] + format_report(result)), flush=True)
    return result


if __name__ == '__main__':
    main()

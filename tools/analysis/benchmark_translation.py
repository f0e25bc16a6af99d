# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Time a Pix2Pix and a CycleGAN training step of this package against the official
loop, and the distillation overhead (``mmkd_invproj.translation.benchmark``).

    python tools/analysis/benchmark_translation.py [CONFIG ...] [--size S] [--batch B]
        [--warmup N] [--rounds N] [--profile]

Defaults: the ViT-B/16 FitNets (inverted) configs of both students, their teacher
without pretrained weights (offline; the timing does not depend on them), one thread,
the process CPU clock. Prints per config a phase table (plain official loop, package
step, teacher forward to its last hooked module, distilled step) and the line
``<config>: step = X.XXX, overhead = Y.YYY`` (step / plain and
distill / (step + teacher), from medians). ``--profile`` adds, per config, the
operators with the largest self CPU time of one package step and one plain step.
"""
import argparse
import os.path as osp
import sys

import torch
from mmengine.config import Config

import mmkd_invproj  # noqa: F401  (registers the models)
from mmkd_invproj.analysis import time_interleaved
from mmkd_invproj.analysis.timing import quiet_profiler_without_gpu
from mmkd_invproj.translation import benchmark as bench

CONFIGS = ['configs/translation/pix2pix_facades_colorization_cls_fitnets_inv.py',
           'configs/translation/cyclegan_maps_cls_fitnets_inv.py']


def profile(phases, keys=('plain', 'step'), rows=12) -> None:
    """Print the top operators by self CPU time of one call of each phase (kineto's
    GPU probe is silenced on a machine without a GPU: ``quiet_profiler_without_gpu``)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile
    quiet_profiler_without_gpu()
    for key in keys:
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            phases[key]()
        print(f'--- profile of one {key} call')
        print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('configs', nargs='*', default=CONFIGS,
                        help='distilled translation configs')
    parser.add_argument('--size', type=int, default=256,
                        help='image side in pixels (unet_256 needs a multiple of 256)')
    parser.add_argument('--cyclegan-size', type=int, default=None,
                        help='image side for CycleGAN configs (default: --size)')
    parser.add_argument('--batch', type=int, default=1, help='images per step')
    parser.add_argument('--warmup', type=int, default=2, help='rounds discarded')
    parser.add_argument('--rounds', type=int, default=10, help='rounds timed')
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    parser.add_argument('--profile', action='store_true',
                        help='also print a profile of one package and one plain step')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f'{bench.machine_header()}; process CPU clock, batch {args.batch}, '
          f'{args.warmup} warm-up + {args.rounds} rounds', flush=True)
    lines = []
    for path in args.configs:
        cfg = Config.fromfile(path)
        size = args.size
        if cfg.model.type == 'CycleGAN' and args.cyclegan_size:
            size = args.cyclegan_size
        name = osp.splitext(osp.basename(path))[0]
        print(f'{name}: building ({size} x {size})', flush=True)
        phases = bench.make_phases(cfg, size, args.batch)
        measured = time_interleaved(phases, args.warmup, args.rounds, clock='cpu',
                                    progress=lambda line: print('  ' + line, flush=True))
        times = {k: m.times for k, m in measured.items()}
        text = bench.report(f'{name} ({size} x {size})', times)
        print(text, flush=True)
        lines.append(text.splitlines()[-1])
        if args.profile:
            profile(phases)
    print(bench.load_description())
    print('\n'.join(lines))
    sys.stdout.flush()


if __name__ == '__main__':
    main()

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Small-scale Figure 4 (supplementary 6.9): the numerical rank of P, inverted vs
traditional projection, random vs same-task teacher, on the nyu_mini frames
(``mmkd_invproj.analysis.rank_experiment``)::

    python tools/analysis/rank_experiment.py [--iters 200] [--teacher-iters 300] \
        [--interval 10] [--threads 1] [--out-dir work_dirs/rank_experiment]

One progress line per training run; each run's own log (config, initialisation,
training) is in its log file. Writes ``summary.md``, ``summary.json``, one spectrum
PNG per case and the 2 x 2 ``figure4.png``. About 0.4-0.5 CPU seconds per iteration
with ``--threads 1``: ~9 CPU minutes for the defaults.
"""
import argparse
import json
import os.path as osp
import warnings

# library messages that repeat for each of the five runs and ask nothing of the user
for message in ('pkg_resources is deprecated', '``build_loss`` would be deprecated',
                'The draw is False', '.*instance named of visualizer has been created'):
    warnings.filterwarnings('ignore', message=message, category=UserWarning)

from mmkd_invproj.analysis import (CASES, plot_spectrum, run_rank_experiment,  # noqa: E402
                                   summary_table)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'depth', 'mbv2_cls_teacher_inv_demo.py')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Small-scale Figure 4: numerical rank of P, inverted vs traditional, '
        'random vs same-task teacher, on the nyu_mini frames (CPU, minutes).')
    parser.add_argument('--out-dir', default=osp.join(REPO, 'work_dirs', 'rank_experiment'))
    parser.add_argument('--demo-config', default=DEMO_CONFIG,
                        help='config every run inherits (data, student, optimiser)')
    parser.add_argument('--iters', type=int, default=200,
                        help='training iterations of each distillation run')
    parser.add_argument('--teacher-iters', type=int, default=300,
                        help='training iterations of the same-task (depth) teacher')
    parser.add_argument('--interval', type=int, default=10,
                        help='ProjectorSpectrumHook interval (iterations)')
    parser.add_argument('--lr', type=float, default=1e-3,
                        help='constant AdamW learning rate (default 1e-3: 5x the paper\'s '
                        '2e-4, a compressed schedule)')
    parser.add_argument('--teacher-seed', type=int, default=1,
                        help='seed of the random teacher (the student uses the demo seed)')
    parser.add_argument('--no-calibration', action='store_true',
                        help='random teacher with its initial BatchNorm statistics '
                        '(its features then vanish)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (1 is fastest on a busy 2-core CPU)')
    parser.add_argument('--cases', nargs='+', default=[f'{p}_{t}' for p, t in CASES],
                        choices=[f'{p}_{t}' for p, t in CASES])
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    out = osp.abspath(args.out_dir)
    res = run_rank_experiment(out, args.demo_config, args.iters, args.teacher_iters,
                              args.interval, args.lr, args.teacher_seed,
                              not args.no_calibration, args.cases)
    pngs = {case: plot_spectrum({label: res['spectra'][label]}, osp.join(out, f'{case}.png'),
                                title=label) for case, label in res['cases'].items()}
    figure = plot_spectrum(res['spectra'], osp.join(out, 'figure4.png'), ncols=2,
                           title='Singular values of P (top: traditional, bottom: inverted; '
                           'nyu_mini, MobileNetV2-0.5 depth student)')
    table = summary_table(res['rows'])
    with open(osp.join(out, 'summary.md'), 'w') as f:
        f.write(table)
    with open(osp.join(out, 'summary.json'), 'w') as f:
        json.dump(dict(args=vars(args), rows=res['rows'], pngs=dict(pngs, figure4=figure),
                       seconds=res['seconds'], runs=res['runs']), f, indent=2)
    print(table)
    print(f'figures: {figure} and ' + ', '.join(pngs.values()))
    print(f'seconds per run: {res["seconds"]}')
    return res['rows']


if __name__ == '__main__':
    main()

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Collect the validation metrics of several runs into the supplementary's table
format (Tables 4-8; ``mmkd_invproj.analysis.results``)::

    python tools/analysis/collect_results.py work_dirs/mbv2_cls_* \
        --baseline work_dirs/mbv2_baseline [--which last|best] [--metrics d1 rmse]
"""
import argparse
import sys
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

from mmkd_invproj.analysis import ResultsError, collect  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Markdown table (Tables 4-8 format) from MMEngine work directories')
    parser.add_argument('work_dirs', nargs='+', help='work directories of the runs')
    parser.add_argument('--baseline', nargs='+', default=[],
                        help='work directories of no-teacher baseline run(s)')
    parser.add_argument('--which', choices=('last', 'best'), default='last',
                        help='validation line per run: the last (default) or the best')
    parser.add_argument('--best-by', help='metric ranking the lines for --which best')
    parser.add_argument('--metrics', nargs='+', help='metric columns (default: the task\'s)')
    parser.add_argument('--digits', type=int, default=3, help='decimals (default 3)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        table = collect(args.work_dirs, args.baseline, args.which, args.best_by,
                        args.metrics, args.digits)
    except ResultsError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    sys.stdout.write(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())

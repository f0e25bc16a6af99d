# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Split the feature-distillation loss of a trained CrossTaskDistiller into knowledge
transfer and student regularisation (supplementary 6.13-6.15, eq. 18)::

    python tools/analysis/loss_decomposition.py CONFIG CHECKPOINT \
        [--split train|val] [--batch-size N] [--rank R] [--threshold 0.01] \
        [--cfg-options key=value ...]

One batch runs through the distiller in eval mode; for every pair the logged
``loss_distill_<name>`` is printed beside ||K||^2, ||R||^2 and the cross term
(``mmkd_invproj.analysis.decomposition``), in that loss's units.
"""
import argparse
import logging
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

from mmengine.config import DictAction  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402

from mmkd_invproj.analysis import (decompose_batch, format_result,  # noqa: E402
                                   load_distiller_batch)


def parse_args(argv=None) -> argparse.Namespace:
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


def main(argv=None):
    args = parse_args(argv)
    if not args.verbose:  # MMEngine's per-parameter init report and load messages
        MMLogger.get_current_instance().setLevel(logging.WARNING)
    model, batch = load_distiller_batch(args.config, args.checkpoint, args.split,
                                        args.batch_size, args.batch_index, args.seed,
                                        args.cfg_options)
    results = decompose_batch(model, batch, args.rank, args.threshold)
    print(f'{args.checkpoint}: {args.split} batch {args.batch_index} '
          f'({len(batch["inputs"])} images)')
    for res in results:
        print(format_result(res))
    return results


if __name__ == '__main__':
    main()

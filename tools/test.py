# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Evaluate a checkpoint (a distiller's or an exported student's) on the test split.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
                         [--show] [--show-dir DIR] [--wait-time SECONDS]
                         [--cfg-options k=v ...] [--launcher pytorch]

``--out DIR``: raw predictions, one PNG per test image: depth as uint16 millimetres
(the NYU convention), segmentation as label maps. ``--show-dir DIR``: one drawing per
test image, ``DIR/<image name>.png``: for depth a panel of input, ground truth,
prediction and error with colour bars in metres, for segmentation MMSeg's overlays.
``--show``: the same drawings in a window, each for ``--wait-time`` seconds.
CHECKPOINT may be a distiller checkpoint or an exported student, for a distiller
config or the student's own config (mmkd_invproj.apis.checkpoint.load_weights).
"""
import argparse
import os
import os.path as osp
import warnings

# mmengine 0.10.7 imports pkg_resources (setuptools < 81 keeps it), which warns on
# every import; the message says nothing a user can act on
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import RUNNERS

import mmkd_invproj  # noqa: F401
from mmkd_invproj.apis.checkpoint import load_weights
from mmkd_invproj.hooks import enable_test_drawing
from mmkd_invproj.utils import unwrap_model
from mmkd_invproj.utils.checkpoint_compat import check_file_exists
from mmkd_invproj.utils.config_check import check_run_config
from mmkd_invproj.utils.depth_io import configure_prediction_output
from mmkd_invproj.utils.launch import setup_cpu_distributed, teardown_distributed
from mmkd_invproj.utils.sample_data import apply_sample_data


def parse_args():
    parser = argparse.ArgumentParser(description='Test a (distilled) MMSeg model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for the evaluation metrics')
    parser.add_argument('--out', help='directory for the raw predictions (depth: uint16 PNG '
                        'in millimetres; segmentation: label PNG)')
    parser.add_argument('--show', action='store_true', help='show each prediction in a window')
    parser.add_argument('--show-dir', help='directory for one drawing per test image (depth: '
                        'input / ground truth / prediction / error panel in metres)')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each --show window stays open (default 2)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value pairs')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    check_file_exists(args.checkpoint)  # before the runner and the teachers are built
    cfg = Config.fromfile(args.config)
    apply_sample_data(cfg)  # a sample-data base in _base_ (before --cfg-options)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    check_run_config(cfg, 'test')
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = None  # loaded below: a distiller checkpoint or an exported student
    if args.out is not None:
        configure_prediction_output(cfg, args.out)
    if args.show or args.show_dir:
        enable_test_drawing(cfg, show=args.show, show_dir=args.show_dir,
                            wait_time=args.wait_time)
    if args.launcher == 'pytorch':
        setup_cpu_distributed(cfg)  # gloo + device_ids=None when there is no GPU
    # atomic checkpoints and weights-only loading under torch >= 2.6, also for configs
    # that keep MMSeg's own runtime (the README's user-config recipe)
    cfg.setdefault('runner_type', 'AtomicCheckpointRunner')
    runner = RUNNERS.build(cfg)
    load_weights(unwrap_model(runner.model), args.checkpoint)
    runner.test()
    teardown_distributed()  # reached only when testing finished on this rank


if __name__ == '__main__':
    main()

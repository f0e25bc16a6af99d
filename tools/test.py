# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Evaluate a checkpoint (a distiller's or an exported student's) on the test split.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
                                           [--cfg-options k=v ...] [--launcher pytorch]
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
from mmengine.runner import Runner

import mmkd_invproj  # noqa: F401
from mmkd_invproj.utils.launch import setup_cpu_distributed, teardown_distributed


def parse_args():
    parser = argparse.ArgumentParser(description='Test a (distilled) MMSeg model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for the evaluation metrics')
    parser.add_argument('--out', help='directory to save the raw predictions to')
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
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    if args.launcher == 'pytorch':
        setup_cpu_distributed(cfg)  # gloo + device_ids=None when there is no GPU
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.test()
    teardown_distributed()  # reached only when testing finished on this rank


if __name__ == '__main__':
    main()

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Train a (distilled) MMSeg model: MMSeg's tools/train.py plus CPU-distributed support.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                                 [--teacher-dtype {bfloat16,float16}]
                                 [--cfg-options k=v ...] [--launcher pytorch]

Before the Runner starts, the config is checked (misspelt types with the closest
registered names, a distiller merged into an inherited model, a missing dataset with
the converter to run; mmkd_invproj.utils.config_check) and a sample-data base's
``sample_data`` is applied (mmkd_invproj.utils.sample_data).
"""
import argparse
import logging
import os
import os.path as osp
import warnings

# mmengine 0.10.7 imports pkg_resources (setuptools < 81 keeps it), which warns on
# every import; the message says nothing a user can act on
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import print_log
from mmengine.registry import RUNNERS

import mmkd_invproj  # noqa: F401  (registers the package's modules)
from mmkd_invproj.engine import amp_optim_wrapper_type, register_reliability_hooks
from mmkd_invproj.utils.config_check import check_run_config
from mmkd_invproj.utils.launch import setup_cpu_distributed, teardown_distributed
from mmkd_invproj.utils.sample_data import apply_sample_data


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor / depth estimator, '
                                     'optionally distilled from a cross-task teacher')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or from the latest one in the work dir '
        'when no path is given')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='enable automatic mixed precision training')
    parser.add_argument(
        '--teacher-dtype', choices=['bfloat16', 'float16'],
        help='keep the frozen teacher in half precision (sets model.teacher_dtype of a '
        'CrossTaskDistiller; its features are upcast to float32 before the projectors)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs in xxx=yyy format')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    apply_sample_data(cfg)  # a sample-data base in _base_ (before --cfg-options)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.teacher_dtype is not None:
        if cfg.model.get('teacher') is None:
            raise SystemExit(f'--teacher-dtype needs a model with one `teacher`; {args.config} '
                             f'trains a {cfg.model.get("type")} without (several teachers: set '
                             'each one\'s dtype in model.teachers)')
        cfg.model.teacher_dtype = args.teacher_dtype
    check_run_config(cfg, 'train')

    # work_dir: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in your config.',
                      logger='current', level=logging.WARNING)
        else:
            assert optim_wrapper == 'OptimWrapper', (
                '`--amp` is only supported when the optimizer wrapper type is '
                f'`OptimWrapper` but got {optim_wrapper}.')
            # MMEngine's AmpOptimWrapper with a GPU; bfloat16 autocast on a CPU
            cfg.optim_wrapper.type = amp_optim_wrapper_type()
            cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.launcher == 'pytorch':
        setup_cpu_distributed(cfg)  # gloo + device_ids=None when there is no GPU

    # atomic checkpoints and weights-only resume under torch >= 2.6, also for configs
    # that keep MMSeg's own runtime (the README's user-config recipe)
    cfg.setdefault('runner_type', 'AtomicCheckpointRunner')
    runner = RUNNERS.build(cfg)
    # stop at the first NaN/inf loss term; check the pipeline loads what the loss reads
    # (AtomicCheckpointRunner registers them itself; a custom runner gets them here)
    register_reliability_hooks(runner)
    runner.train()
    teardown_distributed()  # reached only when training finished on this rank


if __name__ == '__main__':
    main()

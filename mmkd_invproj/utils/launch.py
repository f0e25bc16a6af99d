# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Distributed launch on machines without a GPU (gloo), for tools/train.py and test.py."""
import os

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log


def setup_cpu_distributed(cfg: Config) -> bool:
    """Prepare a torchrun-launched process for CPU-only distributed training.

    MMEngine 0.10.7 always calls ``torch.cuda.set_device`` and wraps the model with
    ``device_ids=[LOCAL_RANK]``, both of which fail without a GPU. When CUDA is not
    available this initialises the process group with the gloo backend itself
    (MMEngine then skips its own ``init_dist``) and sets ``device_ids=None`` for
    the DDP wrapper. With a GPU it changes nothing.

    Args:
        cfg (Config): The run's config; ``env_cfg.dist_cfg`` and
            ``model_wrapper_cfg`` are updated in place.

    Returns:
        bool: True when the CPU (gloo) path was set up.

    Raises:
        KeyError: when the torchrun environment variables (RANK, WORLD_SIZE,
            MASTER_ADDR, MASTER_PORT) are missing; start with tools/dist_train.sh.
    """
    if torch.cuda.is_available():
        return False
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if k not in os.environ]
    if missing:
        raise KeyError(f'--launcher pytorch needs {missing} in the environment; start the job '
                       'with tools/dist_train.sh (torchrun).')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                world_size=int(os.environ['WORLD_SIZE']))
    print_log(f'no GPU: rank {dist.get_rank()}/{dist.get_world_size()} uses the gloo backend',
              logger='current')
    return True

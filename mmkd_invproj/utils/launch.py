# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Distributed launch and teardown for tools/train.py and tools/test.py."""
import os

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log

# the last barrier of teardown_distributed(), kept alive until the interpreter exits
_FINISHED_WORK: list = []


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


def teardown_distributed() -> bool:
    """End a *successful* distributed run so that no rank aborts at interpreter exit.

    The gloo backend runs collectives on its own C++ worker threads. A collective
    whose tensors were created in Python (MMEngine gathers validation results with
    ``all_gather_object`` / ``broadcast_object_list``) holds the last reference to
    those tensors once Python has moved on, and the worker that drops the finished
    work must take the GIL to free them. When the main thread has already reached
    interpreter finalization, that GIL request ends the worker thread inside a
    ``noexcept`` destructor: ``terminate called without an active exception``
    (SIGABRT) on a rank whose job had finished, and torchrun reports FAILED (the
    cause described in pytorch/pytorch#179291 and pytorch/pytorch#190489; a core dump
    of our runs shows ``~AsyncAllgatherWork`` on ``ProcessGroupGloo::runLoop``).
    ``destroy_process_group()`` alone does not prevent it: it neither waits for the
    workers nor, with DDP holding the group, joins them.

    Here every rank enqueues a barrier and keeps its work handle until the process
    ends. Enqueueing takes the backend's work lock with the GIL released, so a
    worker still freeing an earlier collective finishes first; a collective that is
    still in flight is held by the barrier, hence by this handle, and is freed by
    this thread, not by a worker. Then the process group is destroyed, as PyTorch
    asks of every run (pytorch/pytorch#122358).

    Call it only after the job completed on this rank: after an exception the other
    ranks may never reach the barrier (as in pytorch/torchtitan#1342).

    Returns:
        bool: True when a process group was torn down, False when there was none.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return False
    work = dist.barrier(async_op=True)
    work.wait()
    _FINISHED_WORK.append(work)  # released at interpreter exit, by the main thread
    dist.destroy_process_group()
    return True

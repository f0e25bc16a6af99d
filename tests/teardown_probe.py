"""Run under torchrun with 2 processes on gloo: the end of a distributed job, made
adversarial for the teardown.

It trains a tiny DDP model a few steps and gathers Python objects across ranks (what
MMEngine does when it collects validation results), then ends. The race that aborts a
finished rank is made to go the bad way every time: the process runs on one CPU, the
gloo worker threads in SCHED_IDLE (the main thread preempts them as soon as a
collective completes) and the main thread hands the GIL over only when it blocks
(a huge switch interval) until an object freed during interpreter finalization
blocks (as a finalizer writing a file does). The worker that still has to free the
gathered tensors then takes the GIL during finalization, and the process aborts
(``terminate called without an active exception``), unless ``teardown_distributed()``
ran. ``--no-teardown`` leaves it out.
"""
import os
import sys
import threading
import time

import torch
import torch.distributed as dist

from mmkd_invproj.utils.launch import teardown_distributed



class BlocksWhenFreed:

    def __del__(self):
        time.sleep(0.2)


dist.init_process_group('gloo')
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(8, 8))
for _ in range(3):
    model(torch.randn(4, 8)).sum().backward()
cpu = sorted(os.sched_getaffinity(0))[dist.get_rank() % len(os.sched_getaffinity(0))]
main = threading.get_native_id()
for tid in map(int, os.listdir('/proc/self/task')):  # this thread and gloo's workers
    os.sched_setaffinity(tid, {cpu})
    if tid != main:
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
sys.setswitchinterval(1e6)  # the main thread hands the GIL over only when it blocks
gathered = [None] * dist.get_world_size()
dist.all_gather_object(gathered, dict(rank=dist.get_rank()))
assert gathered == [dict(rank=r) for r in range(dist.get_world_size())]
if '--no-teardown' not in sys.argv:
    teardown_distributed()
freed_at_exit = BlocksWhenFreed()  # a module global: freed during finalization

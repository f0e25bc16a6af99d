"""A test-only hook: each rank writes how many training iterations it ran."""
import json
import os.path as osp

import torch.distributed as dist
from mmengine.hooks import Hook

from mmkd_invproj.registry import HOOKS


@HOOKS.register_module()
class RankProbeHook(Hook):

    def __init__(self):
        self.iters = 0
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.iters += 1
        self.losses.append(float(outputs['loss']))

    def after_train(self, runner):
        rank = dist.get_rank() if dist.is_initialized() else 0
        world = dist.get_world_size() if dist.is_initialized() else 1
        backend = dist.get_backend() if dist.is_initialized() else None
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        checksum = float(sum(p.double().sum() for p in model.student.parameters()))
        with open(osp.join(runner.work_dir, f'rank{rank}.json'), 'w') as f:
            json.dump(dict(rank=rank, world_size=world, backend=backend, iters=self.iters,
                           losses=self.losses, checksum=checksum), f)

"""A test-only hook: each rank of a translation training writes what it did."""
import json
import os.path as osp

import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmkd_invproj.registry import HOOKS


@HOOKS.register_module()
class TranslationRankProbeHook(Hook):

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss_G']))

    def after_train(self, runner):
        rank = dist.get_rank() if dist.is_initialized() else 0
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        wrapped = {name: type(child).__name__ for name, child in model.named_children()}
        checksums = {name: float(sum(p.double().sum() for p in child.parameters()))
                     for name, child in model.named_children()
                     if next(child.parameters(), None) is not None}
        with open(osp.join(runner.work_dir, f'rank{rank}.json'), 'w') as f:
            json.dump(dict(rank=rank, world_size=dist.get_world_size(), iters=len(self.losses),
                           losses=self.losses, checksums=checksums, wrapped=wrapped), f)

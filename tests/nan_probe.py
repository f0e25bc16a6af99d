"""A test-only hook: from training iteration ``at_iter`` on, every loss module of type
``loss_type`` returns NaN (a stand-in for a degenerate teacher feature or a learning
rate that is too high), in every process or only in the one of rank ``rank``."""
from typing import Optional

import torch.distributed as dist
from mmengine.hooks import Hook

from mmkd_invproj.registry import HOOKS


@HOOKS.register_module()
class NaNInjectHook(Hook):

    def __init__(self, at_iter: int, loss_type: str, rank: Optional[int] = None):
        self.at_iter = at_iter  # 1-based, as the log counts
        self.loss_type = loss_type
        self.rank = rank
        self.handles = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 != self.at_iter or self.handles:
            return
        if self.rank is not None and dist.is_initialized() and dist.get_rank() != self.rank:
            return
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        for module in model.modules():
            if type(module).__name__ == self.loss_type:
                self.handles.append(
                    module.register_forward_hook(lambda mod, args, out: out * float('nan')))
        assert self.handles, f'no {self.loss_type} in the model'

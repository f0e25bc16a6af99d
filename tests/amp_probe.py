"""A test-only hook: records what mixed precision did in each training iteration."""
import json
import os.path as osp

import torch
from mmengine.hooks import Hook

from mmkd_invproj.registry import HOOKS


def _last_tensor(feat):
    while isinstance(feat, (list, tuple)):
        feat = feat[-1]
    return feat


@HOOKS.register_module()
class AmpProbeHook(Hook):
    """Writes ``amp_probe.json`` to the work dir: the optimizer wrapper's classes and
    autocast dtype, and per iteration the dtypes of the hooked student and teacher
    features (bfloat16 only if autocast really ran) and of the logged losses."""

    def __init__(self):
        self.iters = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        student = {k: str(_last_tensor(v).dtype)
                   for k, v in model.student_recorder.features.items()}
        teacher = {k: str(_last_tensor(v).dtype)
                   for k, v in model.teacher_recorder.features.items()}
        self.iters.append(dict(
            student_features=student, teacher_features=teacher,
            loss_dtypes={k: str(v.dtype) for k, v in outputs.items() if torch.is_tensor(v)},
            losses={k: float(v) for k, v in outputs.items()}))

    def after_train(self, runner):
        wrapper = runner.optim_wrapper
        with open(osp.join(runner.work_dir, 'amp_probe.json'), 'w') as f:
            json.dump(dict(wrapper_classes=[c.__name__ for c in type(wrapper).__mro__],
                           cast_dtype=str(getattr(wrapper, 'cast_dtype', None)),
                           iters=self.iters), f)

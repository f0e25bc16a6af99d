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
    autocast dtype, and per iteration the dtypes of the student and teacher modules
    that the pairs read (bfloat16 only if autocast really ran) and of the losses."""

    def __init__(self):
        self.iters = []
        self._seen = dict(student={}, teacher={})

    def before_train(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        for spec in model.pairs.specs:
            for side, net, name in (('student', model.student, spec.student),
                                    ('teacher', model.teachers[spec.teacher_name].network,
                                     spec.teacher)):
                net.get_submodule(name).register_forward_hook(
                    lambda m, i, o, side=side, name=name: self._seen[side].__setitem__(
                        name, str(_last_tensor(o).dtype)), prepend=True)  # before an early exit

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.iters.append(dict(
            student_features=dict(self._seen['student']),
            teacher_features=dict(self._seen['teacher']),
            loss_dtypes={k: str(v.dtype) for k, v in outputs.items() if torch.is_tensor(v)},
            losses={k: float(v) for k, v in outputs.items()}))

    def after_train(self, runner):
        wrapper = runner.optim_wrapper
        with open(osp.join(runner.work_dir, 'amp_probe.json'), 'w') as f:
            json.dump(dict(wrapper_classes=[c.__name__ for c in type(wrapper).__mro__],
                           cast_dtype=str(getattr(wrapper, 'cast_dtype', None)),
                           iters=self.iters), f)

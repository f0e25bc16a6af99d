# Copyright (c) mmkd-invproj authors. All rights reserved.
"""One optimizer per network group of a GAN: an ``OptimWrapperDict`` from one config."""
import copy
from typing import Dict, Optional

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

from ..registry import OPTIM_WRAPPER_CONSTRUCTORS
from ..utils.model_wrappers import unwrap_model


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TranslationOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` with one wrapper per group of ``model.optim_groups()``.

    Config (``optim_wrapper`` of a translation config)::

        optim_wrapper = dict(
            constructor='TranslationOptimWrapperConstructor',
            generators=dict(optimizer=dict(type='AdamW', lr=2e-4, betas=(0.5, 0.999))),
            discriminators=dict(optimizer=dict(type='AdamW', lr=2e-4, betas=(0.5, 0.999))))

    A value that is a dict with an ``optimizer`` is a group; every other top-level key
    (``type``, ``loss_scale``, ``dtype``, ``clip_grad``, ``accumulative_counts``) is a
    default for every group's wrapper, so ``tools/train.py --amp`` (which sets
    ``optim_wrapper.type``) turns every group into an AMP wrapper. Each group is built
    by MMEngine's ``DefaultOptimWrapperConstructor`` (``paramwise_cfg`` applies to each)
    over the modules the model assigns to it; the generators group holds the
    distillation projectors too. The parameters keep their names in the model, so a
    ``paramwise_cfg`` ``custom_keys`` entry is written against them
    (``'generators.G_B'``, ``'pairs.projectors'``); ``paramwise_cfg`` is the
    ``optim_wrapper`` key MMEngine's ``build_optim_wrapper`` passes on::

        optim_wrapper = dict(..., paramwise_cfg=dict(
            custom_keys={'pairs.projectors': dict(lr_mult=0.1)}))

    Args:
        optim_wrapper_cfg (dict): As above.
        paramwise_cfg (dict, optional): MMEngine's parameter-wise settings.

    Raises:
        ValueError: (when called) if the config's groups differ from the model's, or a
            trainable parameter belongs to no group or to two.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        cfg = copy.deepcopy(dict(optim_wrapper_cfg))
        self.group_cfgs = {k: dict(v) for k, v in cfg.items()
                           if isinstance(v, dict) and 'optimizer' in v}
        self.defaults = {k: v for k, v in cfg.items() if k not in self.group_cfgs}
        self.paramwise_cfg = paramwise_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = unwrap_model(model)
        groups = model.optim_groups()
        if set(groups) != set(self.group_cfgs):
            raise ValueError(f'{type(model).__name__} trains the groups {sorted(groups)}; '
                             f'optim_wrapper configures {sorted(self.group_cfgs)} (each a '
                             'dict with an `optimizer`)')
        owner: Dict[int, str] = {}
        wrappers = {}
        for name, modules in groups.items():
            # a view keyed by the model's attribute names (the model is not changed): a
            # parameter is named as in the model, without the prefix of a DDP wrapper
            container = nn.ModuleDict({k: unwrap_model(m) for k, m in modules.items()})
            for p in container.parameters():
                if id(p) in owner and owner[id(p)] != name:
                    raise ValueError(f'a parameter is in both groups {owner[id(p)]!r} and '
                                     f'{name!r}')
                owner[id(p)] = name
            cfg = {**self.defaults, **self.group_cfgs[name]}
            wrappers[name] = DefaultOptimWrapperConstructor(cfg, self.paramwise_cfg)(container)
        orphans = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in owner]
        if orphans:
            raise ValueError(f'trainable parameters in no optimizer group: {orphans[:5]}')
        return OptimWrapperDict(**wrappers)

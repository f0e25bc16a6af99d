# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Run any config on the real sample data with one ``_base_`` line.

``configs/_base_/datasets/{nyu_mini,ade_mini}.py`` each define one key,
``sample_data``, so they can sit in a ``_base_`` list next to a complete config
(MMEngine refuses two bases that define the same key, and a base never overrides the
config that inherits it)::

    _base_ = ['./my_config.py', 'mmkd_invproj::_base_/datasets/nyu_mini.py']

The tools (``tools/train.py``, ``tools/test.py``) then call :func:`apply_sample_data`,
which merges it over the config: dataloaders on the sample folder with no worker
processes, a short schedule in the unit the config's loop counts in, and no online
weights for the student.
"""
import copy
import logging
import os.path as osp
from typing import Dict, List

from mmengine.config import Config
from mmengine.logging import print_log

#: the config key the sample-data bases define
SAMPLE_DATA_KEY = 'sample_data'
#: checkpoint prefixes that are downloads (MMSeg's ``pretrained`` / ``init_cfg``)
ONLINE_PREFIXES = ('mmcls://', 'open-mmlab://', 'torchvision://', 'mmpretrain://',
                   'http://', 'https://', 'modelzoo://')
_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _is_online(checkpoint) -> bool:
    return isinstance(checkpoint, str) and checkpoint.startswith(ONLINE_PREFIXES)


def drop_online_weights(model_cfg: dict, path: str = 'model') -> List[str]:
    """Remove downloaded initialisations from a model config, in place.

    ``pretrained='mmcls://...'`` becomes None and ``init_cfg=dict(type='Pretrained',
    checkpoint='open-mmlab://...')`` is removed, at any depth. A distiller's
    ``teacher`` is left alone: a teacher without its weights teaches nothing.

    Returns:
        list[str]: the config keys changed, e.g. ``['model.student.pretrained']``.
    """
    changed = []
    if not isinstance(model_cfg, dict):
        return changed
    if _is_online(model_cfg.get('pretrained')):
        model_cfg['pretrained'] = None
        changed.append(f'{path}.pretrained')
    init_cfg = model_cfg.get('init_cfg')
    if isinstance(init_cfg, dict) and _is_online(init_cfg.get('checkpoint')):
        model_cfg['init_cfg'] = None
        changed.append(f'{path}.init_cfg')
    for key, value in model_cfg.items():
        if key == 'teacher' or not isinstance(value, dict):
            continue
        changed += drop_online_weights(value, f'{path}.{key}')
    return changed


def _schedule(cfg: Config, sample: dict) -> Dict[str, int]:
    """Shorten the loop, checkpointing, logging and scheduler ends; returns the new length."""
    train_cfg = cfg.get('train_cfg') or {}
    by_iter = 'max_iters' in train_cfg or train_cfg.get('type') == 'IterBasedTrainLoop'
    length = int(sample['max_iters'] if by_iter else sample['max_epochs'])
    unit = 'max_iters' if by_iter else 'max_epochs'
    if train_cfg:
        train_cfg[unit] = length
        train_cfg['val_interval'] = length
    hooks = cfg.get('default_hooks') or {}
    if isinstance(hooks.get('checkpoint'), dict):
        hooks['checkpoint']['interval'] = length
    if isinstance(hooks.get('logger'), dict):
        hooks['logger']['interval'] = int(sample.get('log_interval', 5))
    schedulers = cfg.get('param_scheduler') or []
    for sched in schedulers if isinstance(schedulers, list) else [schedulers]:
        if isinstance(sched, dict) and isinstance(sched.get('end'), (int, float)):
            sched['end'] = min(sched['end'], length)
    return {unit: length}


def apply_sample_data(cfg: Config) -> bool:
    """Merge a sample-data base's ``sample_data`` over ``cfg`` (in place).

    Keys of ``sample_data``: ``train_dataloader`` / ``val_dataloader`` /
    ``test_dataloader`` (dicts merged into the config's, e.g. ``data_root``,
    ``num_workers=0``); ``max_iters`` and ``max_epochs`` (the schedule for an
    iteration- or epoch-based loop: ``val_interval`` and the checkpoint interval
    follow, scheduler ``end`` values are capped at it); ``log_interval``;
    ``drop_online_weights`` (bool: :func:`drop_online_weights` on ``model``).

    Args:
        cfg (Config): A loaded config; unchanged when it has no ``sample_data``.

    Returns:
        bool: whether a ``sample_data`` key was applied (it is removed from ``cfg``).
    """
    sample = cfg.get(SAMPLE_DATA_KEY)
    if not sample:
        return False
    sample = copy.deepcopy(sample.to_dict() if hasattr(sample, 'to_dict') else dict(sample))
    cfg.pop(SAMPLE_DATA_KEY)
    merged = {k: sample[k] for k in _DATALOADERS if k in sample and cfg.get(k)}
    cfg.merge_from_dict(merged)
    notes = [f'{k}.dataset.data_root={osp.normpath(cfg[k].dataset.data_root)}'
             if cfg[k].dataset.get('data_root') else f'{k}.dataset.data_root=None'
             for k in merged]
    notes += [f'{k}={v}' for k, v in _schedule(cfg, sample).items()]
    if sample.get('drop_online_weights', True) and isinstance(cfg.get('model'), dict):
        dropped = drop_online_weights(cfg.model)
        if dropped:
            notes.append(f'online weights off: {dropped}')
    print_log('sample data: ' + ', '.join(notes), logger='current', level=logging.INFO)
    return True

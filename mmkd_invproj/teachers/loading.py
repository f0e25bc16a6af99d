# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Loading teacher weights: the one way, on MMEngine's public checkpoint API."""
import os.path as osp
from typing import List, Optional, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader

from ..utils.checkpoint_compat import mmengine_checkpoint_globals


def load_teacher_checkpoint(model: nn.Module, filename: str, prefix: Optional[str] = None,
                            strict: bool = False, config_key: str = 'teacher_ckpt'
                            ) -> Tuple[List[str], List[str]]:
    """Load weights into a teacher, keeping only the keys under ``prefix``.

    The file is read by MMEngine's :class:`~mmengine.runner.CheckpointLoader` (local
    paths, ``http(s)://``, ``torchvision://``, ``open-mmlab://`` ...) with
    weights-only loading kept on; a raw state dict and ``{'state_dict': ...}`` /
    ``{'model': ...}`` files are accepted. With ``prefix='backbone.'`` only the keys
    that start with it are kept, stripped (a detector's or AiT's backbone into a bare
    backbone). The key report is logged: all keys loaded, or the missing and
    unexpected ones.

    Args:
        model (nn.Module): The teacher network.
        filename (str): Path or URL of the weights.
        prefix (str, optional): Key prefix to select and strip.
        strict (bool): Raise on missing or unexpected keys. Defaults to False.
        config_key (str): The config entry that gave ``filename``, named in errors.

    Returns:
        tuple[list, list]: (missing_keys, unexpected_keys).

    Raises:
        FileNotFoundError: for a local path that does not exist (names the absolute
            path and ``config_key``).
        KeyError: when ``prefix`` matches no key (lists the first keys).
        RuntimeError: with ``strict=True`` and mismatching keys (torch's message,
            listing them).
    """
    if '://' not in filename and not osp.isfile(filename):
        raise FileNotFoundError(
            f'teacher checkpoint "{filename}" does not exist (absolute path: '
            f'{osp.abspath(filename)}). Put the file there, or fix `{config_key}` in the '
            'config (a relative path is resolved from the working directory).')
    with mmengine_checkpoint_globals():
        ckpt = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    state = ckpt
    for key in ('state_dict', 'model'):
        if isinstance(ckpt, dict) and isinstance(ckpt.get(key), dict):
            state = ckpt[key]
            break
    if prefix:
        first_keys = list(state)[:5]
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not state:
            raise KeyError(f'no key of {filename} starts with prefix "{prefix}"; first keys: '
                           f'{first_keys}')
    result = model.load_state_dict(state, strict=strict)  # torch's own error when strict
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if missing or unexpected:
        print_log(f'teacher checkpoint {filename}: {len(missing)} missing keys {missing[:10]}, '
                  f'{len(unexpected)} unexpected keys {unexpected[:10]}', logger='current',
                  level=30)
    else:
        print_log(f'teacher checkpoint {filename}: all {len(state)} keys loaded',
                  logger='current')
    return missing, unexpected

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Loading teacher weights from a local file or URL, with key-prefix handling."""
import os.path as osp
from typing import Dict, Optional, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint


def _extract_state_dict(checkpoint) -> Dict:
    if isinstance(checkpoint, dict):
        for key in ('state_dict', 'model', 'module'):
            if key in checkpoint and isinstance(checkpoint[key], dict):
                return checkpoint[key]
    return checkpoint


def load_teacher_checkpoint(model: nn.Module, filename: str, prefix: Optional[str] = None,
                            strict: bool = False, map_location: str = 'cpu',
                            config_key: str = 'teacher_ckpt') -> Tuple[list, list]:
    """Load a checkpoint into a teacher, optionally keeping only keys under ``prefix``.

    Accepts a raw state dict or MMEngine/MMDet/timm style ``{'state_dict': ...}`` /
    ``{'model': ...}`` files. With ``prefix='backbone.'`` only the keys that start
    with it are kept, and the prefix is stripped (e.g. to load the backbone of a
    full detector or AiT checkpoint into a bare backbone). Missing and unexpected
    keys are logged as a warning (and raise with ``strict=True``).

    Args:
        model (nn.Module): The teacher.
        filename (str): Local path, ``http(s)://`` URL, or any prefix MMEngine's
            ``CheckpointLoader`` understands (``torchvision://``, ``open-mmlab://``).
        prefix (str, optional): Key prefix to select and strip.
        strict (bool): Raise on missing/unexpected keys. Defaults to False.
        map_location (str): Defaults to ``'cpu'``.
        config_key (str): The config entry that gave ``filename``, named in the
            missing-file error. Defaults to ``'teacher_ckpt'``.

    Returns:
        tuple[list, list]: (missing_keys, unexpected_keys).

    Raises:
        FileNotFoundError: for a local path that does not exist (the message says
            where the file was expected).
        KeyError: when ``prefix`` matches no key (lists a few existing keys).
        RuntimeError: with ``strict=True`` and mismatching keys.
    """
    if '://' not in filename and not osp.isfile(filename):
        raise FileNotFoundError(
            f'teacher checkpoint "{filename}" does not exist (absolute path: '
            f'{osp.abspath(filename)}). Put the file there, or fix `{config_key}` in the '
            'config (a relative path is resolved from the working directory).')
    state = _extract_state_dict(_load_checkpoint(filename, map_location=map_location))
    if prefix:
        selected = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not selected:
            raise KeyError(f'no key of {filename} starts with prefix "{prefix}"; '
                           f'first keys: {list(state)[:5]}')
        state = selected
    result = model.load_state_dict(state, strict=strict)
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if missing or unexpected:
        print_log(f'teacher checkpoint {filename}: {len(missing)} missing keys '
                  f'{missing[:10]}, {len(unexpected)} unexpected keys {unexpected[:10]}',
                  logger='current', level=30)
    else:
        print_log(f'teacher checkpoint {filename}: all {len(state)} keys loaded',
                  logger='current')
    return missing, unexpected

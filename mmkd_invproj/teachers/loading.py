# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Loading teacher weights: the one way, on MMEngine's public checkpoint API."""
from typing import List, Optional, Tuple

import torch.nn as nn
from mmengine.logging import print_log

from ..utils.checkpoint_compat import read_state_dict


def load_teacher_checkpoint(model: nn.Module, filename: str, prefix: Optional[str] = None,
                            strict: bool = False) -> Tuple[List[str], List[str]]:
    """Load weights into a teacher, keeping only the keys under ``prefix``.

    The file is read by :func:`~mmkd_invproj.utils.checkpoint_compat.read_state_dict`
    (MMEngine's ``CheckpointLoader``: local paths, ``http(s)://``, ``torchvision://``
    ...; weights-only loading kept on). With ``prefix='backbone.'`` only the keys
    that start with it are kept, stripped (a detector's or AiT's backbone into a bare
    backbone). The key report is logged: all keys loaded, or the missing and
    unexpected ones.

    Args:
        model (nn.Module): The teacher network.
        filename (str): Path or URL of the weights.
        prefix (str, optional): Key prefix to select and strip.
        strict (bool): Raise on missing or unexpected keys. Defaults to False.

    Returns:
        tuple[list, list]: (missing_keys, unexpected_keys).

    Raises:
        FileNotFoundError: for a local path that does not exist (names the absolute
            path and the config entries that give it).
        KeyError: when ``prefix`` matches no key (lists the first keys).
        RuntimeError: with ``strict=True`` and mismatching keys (torch's message,
            listing them).
    """
    state = read_state_dict(filename, 'teacher checkpoint',
                            fix='`teacher_ckpt` (or the `checkpoint` of a `teachers` entry)')
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

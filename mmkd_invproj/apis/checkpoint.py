# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Load a distiller checkpoint or an exported student into a distiller or a student;
export the student (or a translation model's generators) of a training checkpoint."""
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log

from ..distillers import CrossTaskDistiller
from ..utils.checkpoint_compat import read_checkpoint, read_state_dict, state_dict_of

#: key prefix of the student's weights in a ``CrossTaskDistiller`` state dict
STUDENT_PREFIX = 'student.'
#: key prefix of the generators in a ``Pix2Pix`` / ``CycleGAN`` state dict
GENERATORS_PREFIX = 'generators.'


def _split_prefix(state_dict: Dict[str, torch.Tensor], prefix: str
                  ) -> Tuple[Dict[str, torch.Tensor], Dict[str, int]]:
    """The entries under ``prefix`` (stripped) and {top-level name: count} of the rest."""
    kept, dropped = {}, {}
    for key, value in state_dict.items():
        if key.startswith(prefix):
            kept[key[len(prefix):]] = value
        else:
            top = key.split('.', 1)[0]
            dropped[top] = dropped.get(top, 0) + 1
    return kept, dropped


def extract_student_state_dict(state_dict: Dict[str, torch.Tensor]
                               ) -> Tuple[Dict[str, torch.Tensor], Dict[str, int]]:
    """Split a distiller state dict: the student's weights, and counts of what was dropped.

    Args:
        state_dict (dict): ``CrossTaskDistiller.state_dict()`` (keys ``student.*``,
            ``teachers.*``, ``pairs.*``).

    Returns:
        tuple[dict, dict]: (student state dict with the prefix stripped,
        {top-level name: number of dropped tensors}).

    Raises:
        KeyError: when no key starts with ``student.`` (not a distiller checkpoint).
    """
    student, dropped = _split_prefix(state_dict, STUDENT_PREFIX)
    if not student:
        raise KeyError('no "student.*" key in the checkpoint: is it a CrossTaskDistiller '
                       f'checkpoint? First keys: {list(state_dict)[:5]}')
    return student, dropped


def extract_generator_state_dict(state_dict: Dict[str, torch.Tensor],
                                 generator: Optional[str] = None
                                 ) -> Tuple[Dict[str, torch.Tensor], Dict[str, int]]:
    """Split a translation-model state dict: its generator(s), and counts of what was dropped.

    Args:
        state_dict (dict): ``Pix2Pix`` / ``CycleGAN`` ``state_dict()`` (keys
            ``generators.<name>.*``, ``discriminators.*``, ``teachers.*`` ...).
        generator (str, optional): The generator to keep (``'G_A'``); None keeps them
            all, with their ``<name>.`` prefix unless there is only one.

    Returns:
        tuple[dict, dict]: (generator state dict, {top-level name: dropped tensors}).

    Raises:
        KeyError: without ``generators.*`` keys, or for an unknown ``generator``
            (the message lists the generators).
    """
    kept, dropped = _split_prefix(state_dict, GENERATORS_PREFIX)
    names = sorted({k.split('.', 1)[0] for k in kept})
    if not names:
        raise KeyError('no "generators.*" key in the checkpoint: is it a Pix2Pix / CycleGAN '
                       f'checkpoint? First keys: {list(state_dict)[:5]}')
    if generator is None and len(names) == 1:
        generator = names[0]
    if generator is None:
        return kept, dropped
    if generator not in names:
        raise KeyError(f'no generator {generator!r} in the checkpoint; it has {names}')
    weights, others = _split_prefix(kept, generator + '.')
    dropped.update({f'generators.{name}': n for name, n in others.items()})
    return weights, dropped


def export_student(src: str, dst: str, generator: Optional[str] = None) -> Dict[str, int]:
    """Write the student-only checkpoint ``dst`` from the training checkpoint ``src``.

    A ``CrossTaskDistiller`` checkpoint keeps its ``student.*`` weights, prefix
    stripped (:func:`extract_student_state_dict`): the result loads with
    ``strict=True`` into the student's own config (e.g. ``configs/depth/
    mbv2_baseline.py``). A ``Pix2Pix`` / ``CycleGAN`` checkpoint (keys
    ``generators.<name>.*``) keeps its generators (:func:`extract_generator_state_dict`):
    one generator (Pix2Pix's ``G``, or ``generator``) with its own keys, which load
    strictly into ``UnetGenerator`` / ``ResnetGenerator`` (and the official
    pytorch-CycleGAN-and-pix2pix networks); several (CycleGAN without ``generator``)
    keep the ``<name>.`` prefix and load into a ``NetworkDict`` of them. The optimizer
    states and MMEngine's message hub are dropped. The file is written to
    ``dst + '.tmp'`` and then renamed, so ``dst`` is never half-written.

    Args:
        src (str): Distiller or translation-model checkpoint.
        dst (str): Output file.
        generator (str, optional): Translation models: the generator to export
            (default: all; see :func:`extract_generator_state_dict`).

    Returns:
        dict: {top-level name: number of dropped tensors}.

    Raises:
        FileNotFoundError: when ``src`` does not exist.
    """
    ckpt = read_checkpoint(src)
    state_dict = state_dict_of(ckpt)
    if any(k.startswith(GENERATORS_PREFIX) for k in state_dict):
        student, dropped = extract_generator_state_dict(state_dict, generator)
    else:
        student, dropped = extract_student_state_dict(state_dict)
    meta = dict(ckpt.get('meta', {}))
    meta.pop('message_hub', None)
    meta['exported_from'] = osp.abspath(src)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=student, meta=meta), dst + '.tmp')
    os.replace(dst + '.tmp', dst)
    return dropped


def _is_distiller(model: nn.Module) -> bool:
    return isinstance(model, CrossTaskDistiller)


def load_weights(model: nn.Module, checkpoint: str, map_location='cpu') -> Dict[str, int]:
    """Load ``checkpoint`` into ``model``, whichever of the two each one is.

    ``model`` is a ``CrossTaskDistiller`` or a plain student; ``checkpoint`` is a
    distiller checkpoint (``student.*`` keys, e.g. ``epoch_40.pth``) or an exported
    student (``tools/model_converters/export_student.py``). A student takes the
    ``student.*`` weights of a distiller checkpoint; a distiller takes an exported
    student as its ``student.*`` (its teacher and projectors keep what they have).
    Loading is non-strict within the part loaded; what is missing or unexpected is
    logged.

    Args:
        model (nn.Module): The model (unwrapped).
        checkpoint (str): Path of a ``.pth`` file (``state_dict`` inside or bare).
        map_location: ``torch.load``'s ``map_location``.

    Returns:
        dict: ``{'loaded': n, 'missing': n, 'unexpected': n}`` tensor counts.

    Raises:
        FileNotFoundError: when ``checkpoint`` does not exist.
        KeyError: when no key of the checkpoint matches the model: a silent load of
            nothing would evaluate a randomly initialised model.
    """
    state_dict = read_state_dict(checkpoint, map_location=map_location)
    has_student_keys = any(k.startswith(STUDENT_PREFIX) for k in state_dict)
    target = model
    if _is_distiller(model) and not has_student_keys:
        target = model.student  # an exported student into the distiller's student
    elif not _is_distiller(model) and has_student_keys:
        state_dict, dropped = extract_student_state_dict(state_dict)
        print_log(f'{checkpoint}: a distiller checkpoint, its student weights are loaded '
                  f'(dropped: {dropped})', logger='current')
    own = target.state_dict()
    matched = [k for k in state_dict if k in own]
    if not matched:
        raise KeyError(f'no key of {checkpoint} matches the {type(target).__name__} of the '
                       f'config (checkpoint keys: {list(state_dict)[:3]} ..., model keys: '
                       f'{list(own)[:3]} ...): is it a checkpoint of this config?')
    result = target.load_state_dict(state_dict, strict=False)
    missing = [k for k in result.missing_keys
               if not (_is_distiller(target) and not k.startswith(STUDENT_PREFIX))]
    if missing or result.unexpected_keys:
        print_log(f'{checkpoint}: missing keys {missing[:10]}, unexpected keys '
                  f'{result.unexpected_keys[:10]}', logger='current', level=30)
    print_log(f'loaded {len(matched)} tensors of {checkpoint} into the '
              f'{type(target).__name__}', logger='current')
    return dict(loaded=len(matched), missing=len(missing),
                unexpected=len(result.unexpected_keys))

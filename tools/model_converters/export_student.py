# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Export the student of a CrossTaskDistiller checkpoint as a plain MMSeg checkpoint,
or the generator(s) of a translation model (Pix2Pix, CycleGAN).

    python tools/model_converters/export_student.py DISTILL_CKPT OUT_CKPT
    python tools/model_converters/export_student.py GAN_CKPT OUT_CKPT [--generator G_A]

Keeps only the ``student.*`` weights (prefix stripped): the frozen teacher, the
projectors and the distillation losses are dropped, as is the optimizer state. The
result loads with ``strict=True`` into the student's own config (e.g.
``configs/depth/mbv2_baseline.py``), for ``tools/test.py`` or ``init_model``.

A translation checkpoint (keys ``generators.<name>.*``) keeps its generators only
(discriminators, teacher, projectors and optimizer states dropped): one generator
(Pix2Pix's ``G``, or the one named by ``--generator``) is written with its own keys and
loads strictly into ``UnetGenerator`` / ``ResnetGenerator`` (and the official
pytorch-CycleGAN-and-pix2pix networks); several (CycleGAN without ``--generator``) keep
the ``<name>.`` prefix (``G_A.model.0.weight``) and load into a ``NetworkDict`` of them.
"""
import argparse
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import torch

from mmkd_invproj.apis.checkpoint import extract_student_state_dict
from mmkd_invproj.utils.checkpoint_compat import mmengine_checkpoint_globals

GENERATORS_PREFIX = 'generators.'


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
    kept, dropped = {}, {}
    for key, value in state_dict.items():
        if key.startswith(GENERATORS_PREFIX):
            kept[key[len(GENERATORS_PREFIX):]] = value
        else:
            top = key.split('.', 1)[0]
            dropped[top] = dropped.get(top, 0) + 1
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
    prefix = generator + '.'
    for name in names:
        if name != generator:
            dropped[f'generators.{name}'] = sum(k.startswith(name + '.') for k in kept)
    return {k[len(prefix):]: v for k, v in kept.items() if k.startswith(prefix)}, dropped


def export_student(src: str, dst: str, generator: Optional[str] = None) -> Dict[str, int]:
    """Write the student-only checkpoint ``dst`` from the distiller checkpoint ``src``.

    The file is written to ``dst + '.tmp'`` and then renamed, so ``dst`` is never
    half-written.

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
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint "{src}" does not exist')
    with mmengine_checkpoint_globals():  # MMEngine meta types, weights-only loading kept on
        ckpt = torch.load(src, map_location='cpu')
    state_dict = ckpt.get('state_dict', ckpt)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('src', help='CrossTaskDistiller or Pix2Pix / CycleGAN checkpoint (.pth)')
    parser.add_argument('dst', help='output student checkpoint (.pth)')
    parser.add_argument('--generator', help='translation models: the generator to export '
                        '(e.g. G_A of a CycleGAN); default: all of them')
    args = parser.parse_args()
    dropped = export_student(args.src, args.dst, args.generator)
    print(f'saved student to {args.dst}; dropped ' +
          ', '.join(f'{n}: {c} tensors' for n, c in sorted(dropped.items())))


if __name__ == '__main__':
    main()

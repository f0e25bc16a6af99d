# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Export the student of a CrossTaskDistiller checkpoint as a plain MMSeg checkpoint.

    python tools/model_converters/export_student.py DISTILL_CKPT OUT_CKPT

Keeps only the ``student.*`` weights (prefix stripped): the frozen teacher, the
projectors and the distillation losses are dropped, as is the optimizer state. The
result loads with ``strict=True`` into the student's own config (e.g.
``configs/depth/mbv2_baseline.py``), for ``tools/test.py`` or ``init_model``.
"""
import argparse
import os
import os.path as osp
from typing import Dict

import torch

from mmkd_invproj.apis.checkpoint import extract_student_state_dict
from mmkd_invproj.utils.checkpoint_compat import mmengine_checkpoint_globals


def export_student(src: str, dst: str) -> Dict[str, int]:
    """Write the student-only checkpoint ``dst`` from the distiller checkpoint ``src``.

    The file is written to ``dst + '.tmp'`` and then renamed, so ``dst`` is never
    half-written.

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
    parser.add_argument('src', help='CrossTaskDistiller checkpoint (.pth)')
    parser.add_argument('dst', help='output student checkpoint (.pth)')
    args = parser.parse_args()
    dropped = export_student(args.src, args.dst)
    print(f'saved student to {args.dst}; dropped ' +
          ', '.join(f'{n}: {c} tensors' for n, c in sorted(dropped.items())))


if __name__ == '__main__':
    main()

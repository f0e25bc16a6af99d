# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Export the student of a CrossTaskDistiller checkpoint as a plain MMSeg checkpoint,
or the generator(s) of a translation model (Pix2Pix, CycleGAN).

    python tools/model_converters/export_student.py DISTILL_CKPT OUT_CKPT
    python tools/model_converters/export_student.py GAN_CKPT OUT_CKPT [--generator G_A]

Drops everything but the student's weights (the teacher, projectors, distillation
losses, discriminators and optimizer states), so the result loads with ``strict=True``
into the student's own config or network; see
:func:`mmkd_invproj.apis.export_student` for what is kept for each kind of checkpoint.
"""
import argparse

from mmkd_invproj.apis import export_student


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

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Run a trained student on your own images, folders or videos.

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] --out DIR
                          [--device cpu|cuda|cuda:N] [--max-depth METRES] [--no-preview]

CONFIG: the distiller config the checkpoint was trained with, or the student's own
config; CHECKPOINT: a distiller checkpoint (``student.*`` keys) or an exported
student. Only the student is built (no teacher). INPUT: image files, folders (their
images and videos, recursively) and videos (every frame).

Per image ``NAME`` (a folder's images keep their relative path):
  depth:        NAME_depth.png    uint16, millimetres (NYU convention), 0 = no depth
                NAME_depth.npy    float32 (H, W), metres
                NAME_preview.png  input and prediction, colour bar in metres
  segmentation: NAME_label.png    class indices into the config's dataset classes
                NAME_overlay.png  MMSeg's overlay with class names
Per video ``NAME``: the files above per frame under ``NAME/frame_000000...`` and
``NAME_preview.mp4`` (the previews / overlays as a video).
"""
import argparse
import os.path as osp
import warnings

# mmengine 0.10.7 imports pkg_resources (setuptools < 81 keeps it), which warns on
# every import; the message says nothing a user can act on
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

import mmcv  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402

import mmkd_invproj  # noqa: F401,E402
from mmkd_invproj.apis.inference import (PredictionWriter, build_inference_pipeline,  # noqa: E402
                                         init_student, is_video, iter_inputs, predict,
                                         video_frames)


def parse_args():
    parser = argparse.ArgumentParser(description='Predict depth / segmentation for images, '
                                     'folders and videos with a trained student')
    parser.add_argument('config', help='the distiller config or the student config')
    parser.add_argument('checkpoint', help='distiller checkpoint or exported student')
    parser.add_argument('inputs', nargs='+', help='images, folders, videos')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--device', default=None,
                        help='cpu, cuda or cuda:N (default: cuda when available)')
    parser.add_argument('--max-depth', type=float, default=None,
                        help='top of the depth preview colour scale in metres (default: '
                        'per image)')
    parser.add_argument('--no-preview', action='store_true',
                        help='write only the raw predictions (no preview / overlay)')
    return parser.parse_args()


def main():
    args = parse_args()
    items = iter_inputs(args.inputs)
    model = init_student(args.config, args.checkpoint, args.device)
    pipeline = build_inference_pipeline(model.cfg)
    writer = PredictionWriter(args.out, model.dataset_meta, preview=not args.no_preview,
                              max_depth=args.max_depth)
    videos = {path: video_frames(path) for path, _ in items if is_video(path)}
    total = sum(videos[p][1] if p in videos else 1 for p, _ in items)
    bar = ProgressBar(total)
    n_files = 0
    for path, name in items:
        if path not in videos:
            image = mmcv.imread(path)  # BGR uint8
            n_files += len(writer.write(predict(model, pipeline, image), image, name))
            bar.update()
            continue
        frames, _, fps = videos[path]
        video = None
        for i, frame in enumerate(frames):
            sample = predict(model, pipeline, frame)
            frame_writer = PredictionWriter(osp.join(args.out, name), model.dataset_meta,
                                            preview=False)
            n_files += len(frame_writer.write(sample, frame, f'frame_{i:06d}'))
            if not args.no_preview:
                picture = writer.picture(sample, frame)[:, :, ::-1]
                if video is None:
                    import cv2
                    video = cv2.VideoWriter(osp.join(args.out, f'{name}_preview.mp4'),
                                            cv2.VideoWriter_fourcc(*'mp4v'), fps,
                                            (picture.shape[1], picture.shape[0]))
                video.write(picture)
            bar.update()
        if video is not None:
            video.release()
            n_files += 1
    print(f'\nwrote {n_files} files for {total} images to {args.out}')


if __name__ == '__main__':
    main()

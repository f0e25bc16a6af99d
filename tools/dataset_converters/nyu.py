# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Convert the official NYU Depth v2 labeled set to MMSegmentation's NYUDataset layout.

    python tools/dataset_converters/nyu.py nyu_depth_v2_labeled.mat splits.mat data/nyu

Input: ``nyu_depth_v2_labeled.mat`` (MATLAB v7.3 / HDF5: ``images`` uint8
(N, 3, W, H) and ``depths`` float metres (N, W, H), stored transposed) and the
official ``splits.mat`` (``trainNdxs`` / ``testNdxs``, 1-based; 795 / 654 frames).
Output::

    data/nyu/images/{train,test}/nyu_00001.jpg       8-bit RGB colour
    data/nyu/annotations/{train,test}/nyu_00001.png  16-bit depth in millimetres

Depth is rounded to millimetres; 0 (and anything non-finite, <= 0 or above
65.535 m) marks an invalid pixel, as ``LoadDepthAnnotation(depth_rescale_factor=1e-3)``
expects. Names use the 1-based frame index of the .mat file.
"""
import argparse
import os
import os.path as osp
from typing import Dict, Iterable, List, Tuple

import numpy as np


def depth_to_png16(depth_m: np.ndarray) -> np.ndarray:
    """Depth in metres (H, W) float -> uint16 millimetres, invalid -> 0.

    Args:
        depth_m (np.ndarray): (H, W) depth in metres.

    Returns:
        np.ndarray: (H, W) uint16 depth in millimetres.
    """
    depth = np.asarray(depth_m, dtype=np.float64)
    mm = np.rint(depth * 1000.0)
    invalid = ~np.isfinite(mm) | (mm <= 0) | (mm > np.iinfo(np.uint16).max)
    mm[invalid] = 0
    return mm.astype(np.uint16)


def read_splits(splits_path: str) -> Dict[str, List[int]]:
    """Read the official split file into {'train': [...], 'test': [...]} 1-based indices.

    Raises:
        KeyError: when ``trainNdxs`` / ``testNdxs`` are missing.
    """
    from scipy.io import loadmat
    mat = loadmat(splits_path)
    for key in ('trainNdxs', 'testNdxs'):
        if key not in mat:
            raise KeyError(f'{splits_path} has no "{key}"; is it the official NYUv2 splits.mat?')
    return {'train': [int(i) for i in np.ravel(mat['trainNdxs'])],
            'test': [int(i) for i in np.ravel(mat['testNdxs'])]}


def iter_frames(mat_path: str, indices: Iterable[int]
                ) -> Iterable[Tuple[int, np.ndarray, np.ndarray]]:
    """Yield (1-based index, RGB uint8 (H, W, 3), depth metres (H, W)) from the labeled .mat.

    Raises:
        KeyError: when ``images`` / ``depths`` are missing.
    """
    import h5py
    with h5py.File(mat_path, 'r') as f:
        for key in ('images', 'depths'):
            if key not in f:
                raise KeyError(f'{mat_path} has no "{key}" dataset; expected the official '
                               'nyu_depth_v2_labeled.mat (MATLAB v7.3)')
        images, depths = f['images'], f['depths']
        for idx in indices:
            rgb = np.asarray(images[idx - 1]).transpose(2, 1, 0)  # (3, W, H) -> (H, W, 3)
            depth = np.asarray(depths[idx - 1]).T                  # (W, H) -> (H, W)
            yield idx, np.ascontiguousarray(rgb), depth


def convert(mat_path: str, splits_path: str, out_dir: str) -> Dict[str, int]:
    """Write the MMSeg layout under ``out_dir``; returns {split: number of frames}.

    Raises:
        FileNotFoundError: when an input file is missing.
    """
    import cv2
    for p in (mat_path, splits_path):
        if not osp.isfile(p):
            raise FileNotFoundError(f'"{p}" does not exist')
    counts = {}
    for split, indices in read_splits(splits_path).items():
        img_dir = osp.join(out_dir, 'images', split)
        ann_dir = osp.join(out_dir, 'annotations', split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        n = 0
        for idx, rgb, depth in iter_frames(mat_path, indices):
            name = f'nyu_{idx:05d}'
            cv2.imwrite(osp.join(img_dir, name + '.jpg'), rgb[:, :, ::-1],
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            cv2.imwrite(osp.join(ann_dir, name + '.png'), depth_to_png16(depth))
            n += 1
        counts[split] = n
    return counts


def main():
    parser = argparse.ArgumentParser(description='NYUv2 labeled .mat -> MMSeg NYUDataset layout')
    parser.add_argument('mat', help='nyu_depth_v2_labeled.mat')
    parser.add_argument('splits', help='splits.mat (official train/test split)')
    parser.add_argument('out_dir', help='output root, e.g. data/nyu')
    args = parser.parse_args()
    counts = convert(args.mat, args.splits, args.out_dir)
    print(f'wrote {counts} frames to {args.out_dir}')


if __name__ == '__main__':
    main()

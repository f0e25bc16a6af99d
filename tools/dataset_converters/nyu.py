# Copyright (c) mmkd-invproj authors. All rights reserved.
"""NYU Depth v2 in MMSegmentation's ``NYUDataset`` layout, from either official source.

The paper's split (through AiT; as BTS and AdaBins): 24,231 training frames of the
raw video sequences and the standard 654 test frames::

    python tools/dataset_converters/nyu.py bts \\
        --train-dir sync --train-list nyudepthv2_train_files_with_gt.txt \\
        --test-dir official_splits/test --test-list nyudepthv2_test_files_with_gt.txt \\
        data/nyu [--link symlink|hardlink|copy] [--skip-missing]

Inputs as BTS distributes them (https://github.com/cleinc/bts, README "NYU Depth V2"
and ``pytorch/README.md``): ``sync/`` (``sync.zip``: ``<scene>/rgb_NNNNN.jpg`` and
``<scene>/sync_depth_NNNNN.png``, 16-bit millimetres), the file lists of BTS's
``train_test_inputs/`` (one frame per line, ``rgb_path depth_path focal``, e.g.
``/kitchen_0028b/rgb_00045.jpg /kitchen_0028b/sync_depth_00045.png 518.8579``; paths
relative to the folder given), and ``official_splits/test/`` (``<scene>/rgb_NNNNN.jpg``,
``<scene>/sync_depth_NNNNN.png``, written from the labeled set by BTS's
``utils/extract_official_train_test_set_from_mat.py``; NNNNN is the 0-based frame of
the labeled set). The lists are read from your download, not shipped here.

The official labeled set (795 training / 654 test frames)::

    python tools/dataset_converters/nyu.py labeled nyu_depth_v2_labeled.mat splits.mat \\
        data/nyu [--depth-key depths|rawDepths]

Inputs: ``nyu_depth_v2_labeled.mat`` (MATLAB v7.3 / HDF5: ``images`` uint8
(N, 3, W, H), ``depths`` (in-painted) and ``rawDepths`` (sensor, with holes) float
metres (N, W, H), stored transposed) and ``splits.mat`` (``trainNdxs`` / ``testNdxs``,
1-based), both from https://cs.nyu.edu/~silberman/datasets/nyu_depth_v2.html.
BTS/AdaBins evaluate on ``rawDepths``. The older form ``nyu.py MAT SPLITS OUT`` means
``labeled``.

Output (both)::

    data/nyu/images/{train,test}/NAME.jpg       8-bit RGB colour
    data/nyu/annotations/{train,test}/NAME.png  16-bit depth in millimetres, 0 = none

NAME is ``<scene>_<NNNNN>`` for the BTS split (``kitchen_0028b_00045``; MMSeg reads
the scene type before the first digit as ``category_id``) and ``nyu_<1-based index>``
for the labeled set. Depth is rounded to millimetres; anything non-finite, <= 0 or
above 65.535 m becomes 0, as ``LoadDepthAnnotation(depth_rescale_factor=1e-3)``
expects.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
from collections import Counter
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

from mmkd_invproj.utils.depth_io import depth_to_png16

#: focal length (pixels) the BTS lists give for NYUv2
BTS_FOCAL = 518.8579


# ---------------------------------------------------------------------- labeled set
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


def iter_frames(mat_path: str, indices: Iterable[int], depth_key: str = 'depths'
                ) -> Iterable[Tuple[int, np.ndarray, np.ndarray]]:
    """Yield (1-based index, RGB uint8 (H, W, 3), depth metres (H, W)) from the labeled .mat.

    Args:
        mat_path (str): ``nyu_depth_v2_labeled.mat``.
        indices (Iterable[int]): 1-based frame indices.
        depth_key (str): ``'depths'`` (in-painted) or ``'rawDepths'`` (sensor).

    Raises:
        KeyError: when ``images`` / ``depth_key`` are missing.
    """
    import h5py
    with h5py.File(mat_path, 'r') as f:
        for key in ('images', depth_key):
            if key not in f:
                raise KeyError(f'{mat_path} has no "{key}" dataset; expected the official '
                               'nyu_depth_v2_labeled.mat (MATLAB v7.3)')
        images, depths = f['images'], f[depth_key]
        for idx in indices:
            rgb = np.asarray(images[idx - 1]).transpose(2, 1, 0)  # (3, W, H) -> (H, W, 3)
            depth = np.asarray(depths[idx - 1]).T                  # (W, H) -> (H, W)
            yield idx, np.ascontiguousarray(rgb), depth


def convert(mat_path: str, splits_path: str, out_dir: str,
            depth_key: str = 'depths') -> Dict[str, int]:
    """The labeled set in MMSeg's layout under ``out_dir``; returns {split: frames}.

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
        for idx, rgb, depth in iter_frames(mat_path, indices, depth_key):
            name = f'nyu_{idx:05d}'
            cv2.imwrite(osp.join(img_dir, name + '.jpg'), rgb[:, :, ::-1],
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            cv2.imwrite(osp.join(ann_dir, name + '.png'), depth_to_png16(depth))
            n += 1
        counts[split] = n
    return counts


# ---------------------------------------------------------------------- BTS split
def read_file_list(list_path: str) -> List[Tuple[str, str, float]]:
    """Read a BTS file list: one ``rgb_path depth_path focal`` line per frame.

    Leading ``/`` are dropped (the paths are relative to the data folder, BTS joins
    them with ``"./"``); further columns are ignored; blank lines are skipped.

    Returns:
        list[tuple[str, str, float]]: (rgb path, depth path, focal in pixels).

    Raises:
        FileNotFoundError: when ``list_path`` does not exist.
        ValueError: for a line with fewer than 3 columns, a depth path ``None`` (a
            frame without ground truth) or a focal that is not a number; the message
            names the line.
    """
    if not osp.isfile(list_path):
        raise FileNotFoundError(f'file list "{list_path}" does not exist')
    frames = []
    with open(list_path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            try:
                rgb, depth, focal = parts[0], parts[1], float(parts[2])
            except (IndexError, ValueError):
                raise ValueError(f'{list_path}:{lineno}: expected "rgb_path depth_path focal", '
                                 f'got {line.strip()!r}') from None
            if depth == 'None':
                raise ValueError(f'{list_path}:{lineno}: frame {rgb} has no depth (None)')
            frames.append((rgb.lstrip('/'), depth.lstrip('/'), focal))
    return frames


def bts_frame_name(rgb_path: str) -> str:
    """``kitchen_0028b/rgb_00045.jpg`` -> ``kitchen_0028b_00045`` (scene, frame number).

    Raises:
        ValueError: when the file name is not ``rgb_<number>``.
    """
    scene, fname = osp.split(rgb_path)
    stem = osp.splitext(fname)[0]
    number = stem.rsplit('_', 1)[-1]
    if not stem.startswith('rgb_') or not number.isdigit():
        raise ValueError(f'{rgb_path}: expected a BTS colour frame "<scene>/rgb_<number>.jpg"')
    return f'{scene.strip("/").replace("/", "_")}_{number}'


def _place(src: str, dst: str, link: str) -> None:
    if osp.lexists(dst):
        os.remove(dst)
    if link == 'symlink':
        os.symlink(osp.abspath(src), dst)
    elif link == 'hardlink':
        os.link(src, dst)
    else:
        shutil.copyfile(src, dst)


def convert_bts_split(data_dir: str, list_path: str, out_dir: str, split: str,
                      link: str = 'symlink', skip_missing: bool = False) -> Dict[str, int]:
    """One split of the BTS layout into MMSeg's layout.

    Args:
        data_dir (str): The folder the list's paths are relative to (``sync`` or
            ``official_splits/test``).
        list_path (str): The BTS file list.
        out_dir (str): Output root (``data/nyu``).
        split (str): ``'train'`` or ``'test'``.
        link (str): ``'symlink'`` (absolute links, no copy), ``'hardlink'`` or ``'copy'``.
        skip_missing (bool): Leave out listed frames whose files are absent instead
            of failing.

    Returns:
        dict: ``{'frames': written, 'missing': left out}``.

    Raises:
        FileNotFoundError: for missing frames (count and the first few) unless
            ``skip_missing``, or when nothing is left.
        ValueError: for a depth file that is not a 16-bit PNG (checked on the first
            frame), or two frames that map to the same name.
    """
    import cv2
    frames = read_file_list(list_path)
    present, missing = [], []
    for rgb, depth, _ in frames:
        src_rgb, src_depth = osp.join(data_dir, rgb), osp.join(data_dir, depth)
        (present if osp.isfile(src_rgb) and osp.isfile(src_depth) else missing).append(
            (rgb, src_rgb, src_depth))
    if missing and not skip_missing:
        raise FileNotFoundError(
            f'{len(missing)} of the {len(frames)} frames of {list_path} are not under '
            f'{data_dir}, e.g. {[m[0] for m in missing[:3]]}; pass the folder the list '
            'refers to (sync/ for the training list, official_splits/test/ for the test '
            'list), or --skip-missing to leave them out')
    if not present:
        raise FileNotFoundError(f'no frame of {list_path} found under {data_dir}')
    first = cv2.imread(present[0][2], cv2.IMREAD_UNCHANGED)
    if first is None or first.dtype != np.uint16 or first.ndim != 2:
        got = None if first is None else (first.dtype, first.shape)
        raise ValueError(f'{present[0][2]}: expected a single-channel 16-bit depth PNG in '
                         f'millimetres, got {got}')
    names = [bts_frame_name(rgb) for rgb, _, _ in present]
    dup = sorted(n for n, count in Counter(names).items() if count > 1)
    if dup:
        raise ValueError(f'{list_path}: frames map to the same name: {dup[:5]}')
    img_dir = osp.join(out_dir, 'images', split)
    ann_dir = osp.join(out_dir, 'annotations', split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    for name, (_, src_rgb, src_depth) in zip(names, present):
        _place(src_rgb, osp.join(img_dir, name + osp.splitext(src_rgb)[1].lower()), link)
        _place(src_depth, osp.join(ann_dir, name + '.png'), link)
    return {'frames': len(present), 'missing': len(missing)}


def convert_bts(out_dir: str, train_dir: Optional[str] = None,
                train_list: Optional[str] = None, test_dir: Optional[str] = None,
                test_list: Optional[str] = None, link: str = 'symlink',
                skip_missing: bool = False) -> Dict[str, Dict[str, int]]:
    """The BTS/AdaBins split (training sequences + official test frames) in MMSeg's layout.

    Returns:
        dict: ``{split: {'frames': n, 'missing': n}}`` for the splits given.

    Raises:
        ValueError: when neither split is given completely (folder and list).
    """
    splits = {s: (d, l) for s, d, l in (('train', train_dir, train_list),
                                        ('test', test_dir, test_list)) if d or l}
    incomplete = [s for s, (d, l) in splits.items() if not (d and l)]
    if not splits or incomplete:
        raise ValueError('give --train-dir with --train-list and/or --test-dir with '
                         f'--test-list (incomplete: {incomplete or ["train", "test"]})')
    return {s: convert_bts_split(d, l, out_dir, s, link, skip_missing)
            for s, (d, l) in splits.items()}


def main(argv: Optional[List[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].endswith('.mat'):  # the older form: nyu.py MAT SPLITS OUT
        argv.insert(0, 'labeled')
    parser = argparse.ArgumentParser(description='NYU Depth v2 -> MMSeg NYUDataset layout')
    sub = parser.add_subparsers(dest='source', required=True)
    lab = sub.add_parser('labeled', help='the official labeled set (795 / 654 frames)')
    lab.add_argument('mat', help='nyu_depth_v2_labeled.mat')
    lab.add_argument('splits', help='splits.mat (official train/test split)')
    lab.add_argument('out_dir', help='output root, e.g. data/nyu')
    lab.add_argument('--depth-key', choices=['depths', 'rawDepths'], default='depths',
                     help='in-painted depth (default) or raw sensor depth (BTS/AdaBins test)')
    bts = sub.add_parser('bts', help='the BTS/AdaBins split: 24,231 training frames of the '
                         'raw sequences, 654 official test frames')
    bts.add_argument('out_dir', help='output root, e.g. data/nyu')
    bts.add_argument('--train-dir', help='BTS sync/ folder')
    bts.add_argument('--train-list', help='nyudepthv2_train_files_with_gt.txt')
    bts.add_argument('--test-dir', help='official_splits/test/ folder')
    bts.add_argument('--test-list', help='nyudepthv2_test_files_with_gt.txt')
    bts.add_argument('--link', choices=['symlink', 'hardlink', 'copy'], default='symlink',
                     help='how the files get into out_dir (default: absolute symlinks)')
    bts.add_argument('--skip-missing', action='store_true',
                     help='leave out listed frames that are not on disk')
    args = parser.parse_args(argv)
    if args.source == 'labeled':
        counts = convert(args.mat, args.splits, args.out_dir, args.depth_key)
    else:
        counts = convert_bts(args.out_dir, args.train_dir, args.train_list, args.test_dir,
                             args.test_list, args.link, args.skip_missing)
    print(f'wrote {counts} to {args.out_dir}')


if __name__ == '__main__':
    main()

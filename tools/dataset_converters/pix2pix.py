# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Unpack an official pix2pix dataset archive into the layout TranslationDataset reads.

    python tools/dataset_converters/pix2pix.py facades.tar.gz data/facades
    python tools/dataset_converters/pix2pix.py maps.tar.gz data/maps

Input: an archive of https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/ (``facades``:
400 train / 100 val / 106 test; ``maps``: 1096 train / 1098 val), or the folder it was
extracted to. Its members ``<name>/<split>/<file>.jpg`` hold each A|B pair side by side.
Output::

    data/facades/train/1.jpg ...   (the same files, byte for byte)
    data/facades/val/...
    data/facades/test/...

Only image files (the extensions of ``mmkd_invproj.utils.images.IMG_EXTENSIONS``, which
the dataset reads) under a ``train``, ``val`` or ``test`` folder are taken (macOS ``._*``
entries, hidden files of a folder and anything else are skipped); names are reduced to
their base name, so nothing is written outside the output folder. A file whose width is
odd or not twice its height is reported (the pair halves are split at width // 2).
"""
import argparse
import io
import os
import os.path as osp
import tarfile
from typing import Dict, Iterator, Optional, Tuple

from PIL import Image

from mmkd_invproj.translation.dataset import PIX2PIX_URL
from mmkd_invproj.utils.images import has_extension, list_images

SPLITS = ('train', 'val', 'test')


def split_of(member: str) -> Optional[Tuple[str, str]]:
    """``(split, base name)`` of an archive member path, or None to skip it.

    The split is the nearest parent folder named train / val / test.
    """
    parts = [p for p in member.replace('\\', '/').split('/') if p not in ('', '.')]
    if len(parts) < 2 or '..' in parts:
        return None
    name = parts[-1]
    if name.startswith('._') or not has_extension(name):
        return None
    return (parts[-2], name) if parts[-2] in SPLITS else None


def iter_images(src: str) -> Iterator[Tuple[str, str, bytes]]:
    """Yield ``(split, base name, file bytes)`` of the images of an archive or folder.

    Raises:
        FileNotFoundError: when ``src`` does not exist.
    """
    if osp.isdir(src):
        for rel in list_images(src, relative=True):
            found = split_of(rel)
            if found:
                with open(osp.join(src, rel), 'rb') as f:
                    yield found + (f.read(),)
        return
    if not osp.isfile(src):
        raise FileNotFoundError(f'{src} does not exist; download it from {PIX2PIX_URL}')
    with tarfile.open(src) as tar:
        for member in tar:
            found = split_of(member.name) if member.isfile() else None
            if found:
                yield found + (tar.extractfile(member).read(),)


def convert(src: str, out_dir: str) -> Dict[str, int]:
    """Write the images of ``src`` to ``out_dir/<split>/<name>``.

    Returns:
        dict: {split: number of images written}, plus ``'not_side_by_side'`` when
        some image is not twice as wide as high.

    Raises:
        ValueError: when no image lies under a train / val / test folder.
    """
    counts: Dict[str, int] = {}
    odd = 0
    for split, name, data in iter_images(src):
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
        odd += int(w % 2 != 0 or w != 2 * h)
        os.makedirs(osp.join(out_dir, split), exist_ok=True)
        with open(osp.join(out_dir, split, name), 'wb') as f:
            f.write(data)
        counts[split] = counts.get(split, 0) + 1
    if not counts:
        raise ValueError(f'no image under a {"/".join(SPLITS)} folder in {src}; expected an '
                         'official pix2pix archive (<name>/<split>/<file>.jpg)')
    if odd:
        counts['not_side_by_side'] = odd
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official archive (e.g. facades.tar.gz) or its folder')
    parser.add_argument('out_dir', help='output dataset folder (e.g. data/facades)')
    args = parser.parse_args()
    counts = convert(args.src, args.out_dir)
    odd = counts.pop('not_side_by_side', 0)
    print(f'{args.out_dir}: ' + ', '.join(f'{s} {n}' for s, n in sorted(counts.items())))
    if odd:
        print(f'warning: {odd} image(s) are not twice as wide as high (A|B pairs split at '
              'width // 2)')


if __name__ == '__main__':
    main()

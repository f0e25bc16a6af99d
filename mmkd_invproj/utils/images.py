# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The image files the package reads: one list of extensions, one folder listing."""
import os.path as osp
from typing import List, Sequence

from mmengine.utils import scandir

#: extensions (lower case) of the image files every reader of the package takes: the
#: translation datasets and their converter, ``tools/infer.py``, the benchmark frames
#: (those of the official pix2pix ``data/image_folder.py``, plus ``.webp`` and ``.pgm``)
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.pgm', '.bmp', '.tif', '.tiff', '.webp')


def has_extension(path: str, extensions: Sequence[str] = IMG_EXTENSIONS) -> bool:
    """Whether ``path`` ends in one of ``extensions`` (any case: ``.JPG`` counts)."""
    return path.lower().endswith(tuple(extensions))


def list_images(folder: str, extensions: Sequence[str] = IMG_EXTENSIONS,
                relative: bool = False) -> List[str]:
    """Sorted paths of the files under ``folder`` (recursively, following links to
    folders) whose extension is one of ``extensions``, in any case.

    The listing is ``mmengine.utils.scandir(folder, extensions, recursive=True,
    case_sensitive=False)``: hidden files (names starting with ``.``, e.g. macOS's
    ``._*`` entries) are left out.

    Args:
        folder (str): The folder to list.
        extensions (Sequence[str]): Lower-case extensions with their dot.
        relative (bool): Paths relative to ``folder`` instead of joined to it.

    Returns:
        list[str]: The paths, sorted.

    Raises:
        FileNotFoundError: when ``folder`` does not exist (from ``os.scandir``).
    """
    found = scandir(folder, tuple(extensions), recursive=True, case_sensitive=False)
    return sorted(found) if relative else sorted(osp.join(folder, f) for f in found)

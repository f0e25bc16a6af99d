# Copyright (c) mmkd-invproj authors. All rights reserved.
"""MMSeg's loading transforms, with an error that names a file that cannot be decoded.

OpenCV's ``imdecode`` returns None for an empty, truncated or corrupt file instead of
raising. MMCV 2.1's ``LoadImageFromFile`` turns that into an ``assert`` (gone under
``python -O``; an empty file fails inside OpenCV without the file's name), and MMSeg
1.2.2's ``LoadDepthAnnotation`` and ``LoadAnnotations`` use the None as an array:
``'NoneType' object has no attribute 'astype'`` / ``'squeeze'``, far from the file
(the failure MMCV works around for images after open-mmlab/mmpretrain#1427).

Importing ``mmkd_invproj`` registers the three subclasses below under the upstream
names in MMSeg's ``TRANSFORMS`` registry, so pipelines keep writing
``dict(type='LoadDepthAnnotation', ...)``. Each runs the upstream transform unchanged;
only when it raises does it read the file again, and if the file does not decode it
raises :class:`UnreadableFileError` with the path (chained to the upstream error). A
file that decodes, or a failure elsewhere, leaves the upstream error as it was.
"""
from typing import Callable, Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadImageFromFile as _MMCVLoadImageFromFile
from mmseg.datasets.transforms import LoadAnnotations as _MMSegLoadAnnotations
from mmseg.datasets.transforms import LoadDepthAnnotation as _MMSegLoadDepthAnnotation
from mmseg.registry import TRANSFORMS
from mmseg.utils import datafrombytes

__all__ = ['UnreadableFileError', 'LoadImageFromFile', 'LoadAnnotations',
           'LoadDepthAnnotation']


class UnreadableFileError(ValueError):
    """A data file exists but cannot be decoded (empty, truncated, corrupt, wrong type)."""


def _undecodable_reason(path: str, decode: Callable[[bytes], Optional[np.ndarray]],
                        backend_args: Optional[dict]) -> Optional[str]:
    """Why ``path`` does not decode, or None when it reads and decodes to an array."""
    try:
        content = fileio.get(path, backend_args=backend_args)
    except Exception:  # missing or unreadable: the upstream error already names it
        return None
    if len(content) == 0:
        return 'the file is empty (0 bytes)'
    try:
        data = decode(content)
    except Exception as exc:
        return f'decoding its {len(content)} bytes fails ({type(exc).__name__}: {exc})'
    if data is None:
        return (f'its {len(content)} bytes do not decode (truncated, corrupt, or not the '
                'expected format)')
    return None


def _raise_if_undecodable(err: Exception, what: str, transform: str, path: str,
                          decode: Callable[[bytes], Optional[np.ndarray]],
                          backend_args: Optional[dict]) -> None:
    reason = _undecodable_reason(path, decode, backend_args)
    if reason is not None:
        raise UnreadableFileError(
            f'{transform} cannot read the {what} {path}: {reason}. Replace the file or '
            'remove the sample from the dataset.') from err


@TRANSFORMS.register_module(name='LoadImageFromFile')
class LoadImageFromFile(_MMCVLoadImageFromFile):
    """MMCV's ``LoadImageFromFile``; an undecodable image names its file.

    Args: as MMCV's ``LoadImageFromFile``.

    Raises:
        UnreadableFileError: when ``img_path`` is empty, truncated or not an image
            (the path, its size and the decoder's complaint are in the message).
        FileNotFoundError: as upstream, for a missing file.
    """

    def transform(self, results: dict) -> Optional[dict]:
        try:
            return super().transform(results)
        except Exception as err:
            _raise_if_undecodable(
                err, 'image', 'LoadImageFromFile', results['img_path'],
                lambda b: mmcv.imfrombytes(b, flag=self.color_type,
                                           backend=self.imdecode_backend),
                self.backend_args)
            raise


@TRANSFORMS.register_module(name='LoadDepthAnnotation', force=True)
class LoadDepthAnnotation(_MMSegLoadDepthAnnotation):
    """MMSeg's ``LoadDepthAnnotation``; an undecodable depth map names its file.

    Args: as MMSeg's ``LoadDepthAnnotation``.

    Raises:
        UnreadableFileError: when ``depth_map_path`` is empty, truncated or does not
            decode with ``decode_backend``.
        FileNotFoundError: as upstream, for a missing file.
    """

    def transform(self, results: dict) -> dict:
        try:
            return super().transform(results)
        except Exception as err:
            _raise_if_undecodable(
                err, 'depth annotation', 'LoadDepthAnnotation', results['depth_map_path'],
                lambda b: datafrombytes(b, backend=self.decode_backend), self.backend_args)
            raise


@TRANSFORMS.register_module(name='LoadAnnotations', force=True)
class LoadAnnotations(_MMSegLoadAnnotations):
    """MMSeg's ``LoadAnnotations``; an undecodable segmentation map names its file.

    Args: as MMSeg's ``LoadAnnotations``.

    Raises:
        UnreadableFileError: when ``seg_map_path`` is empty, truncated or not an image.
        FileNotFoundError: as upstream, for a missing file.
    """

    def transform(self, results: dict) -> dict:
        try:
            return super().transform(results)
        except Exception as err:
            if self.with_seg and results.get('seg_map_path') is not None:
                _raise_if_undecodable(
                    err, 'segmentation annotation', 'LoadAnnotations',
                    results['seg_map_path'],
                    lambda b: mmcv.imfrombytes(b, flag='unchanged',
                                               backend=self.imdecode_backend),
                    self.backend_args)
            raise

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Depth maps on disk: single-channel uint16 PNGs in millimetres, 0 = no depth.

This is the NYU Depth v2 convention, the layout of MMSeg's ``NYUDataset`` and of this
package's converters; ``LoadDepthAnnotation(depth_rescale_factor=1e-3)`` reads such a
PNG back into metres. In memory depth is float metres.
"""
import os
import os.path as osp

import numpy as np

#: millimetres per metre: the scale of a depth PNG
PNG_SCALE = 1000.0


def valid_depth(depth_m: np.ndarray) -> np.ndarray:
    """Boolean mask of pixels with a depth: finite and > 0."""
    depth_m = np.asarray(depth_m, dtype=np.float64)
    return np.isfinite(depth_m) & (depth_m > 0)


def depth_to_png16(depth_m: np.ndarray) -> np.ndarray:
    """Depth in metres (H, W) float -> uint16 millimetres, rounded; invalid -> 0.

    Args:
        depth_m (np.ndarray): (H, W) depth in metres.

    Returns:
        np.ndarray: (H, W) uint16 depth in millimetres. Pixels that are not finite,
        not positive or beyond 65.535 m (the uint16 range) are 0.
    """
    mm = np.rint(np.asarray(depth_m, dtype=np.float64) * PNG_SCALE)
    invalid = ~np.isfinite(mm) | (mm <= 0) | (mm > np.iinfo(np.uint16).max)
    mm[invalid] = 0
    return mm.astype(np.uint16)


def write_depth_png(path: str, depth_m: np.ndarray) -> None:
    """Write (H, W) depth in metres as a 16-bit PNG in millimetres (:func:`depth_to_png16`).

    Raises:
        OSError: when OpenCV cannot write ``path``.
    """
    import cv2
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, depth_to_png16(depth_m)):
        raise OSError(f'could not write {path}')


def configure_prediction_output(cfg, out_dir: str) -> None:
    """Make the test evaluator(s) write raw predictions to ``out_dir`` (in place).

    What ``tools/test.py --out DIR`` does: ``output_dir`` and ``keep_results`` on
    each test evaluator, as MMSeg's test tool. For MMSeg's ``DepthMetric`` the file
    is ``<out_dir>/<image name>.png``, the prediction times ``depth_scale_factor``
    cast to uint16; its default factor 1 writes whole metres (0-10), so the factor is
    set to :data:`PNG_SCALE` (millimetres, the NYU convention) unless the config sets
    one. ``IoUMetric`` writes label PNGs.

    Args:
        cfg (Config): The run's config (``test_evaluator`` a dict or a list of dicts).
        out_dir (str): Output folder.
    """
    evaluators = cfg.test_evaluator
    for evaluator in evaluators if isinstance(evaluators, list) else [evaluators]:
        evaluator['output_dir'] = out_dir
        evaluator['keep_results'] = True
        if str(evaluator.get('type', '')).split('.')[-1] == 'DepthMetric':
            evaluator.setdefault('depth_scale_factor', PNG_SCALE)

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Depth maps as pictures: colour maps and panels with scales in metres."""
from typing import Optional, Sequence, Tuple

import numpy as np

from ..utils.depth_io import valid_depth

#: colour maps of the depth and error panels (matplotlib names)
DEPTH_CMAP = 'viridis'
ERROR_CMAP = 'inferno'
#: colour of pixels without depth (no ground truth, invalid prediction), RGB 0-1
INVALID_RGB = (0.82, 0.82, 0.82)


def depth_range(*depths_m: np.ndarray, percentile: float = 99.0) -> Tuple[float, float]:
    """A shared colour range (0, top) in metres for several depth maps.

    ``top`` is the largest ``percentile`` of the valid pixels of the maps (robust to a
    few far outliers), at least 1 mm; (0, 1) when no map has a valid pixel.
    """
    tops = [np.percentile(d[valid_depth(d)], percentile) for d in depths_m
            if d is not None and valid_depth(d).any()]
    return 0.0, max(max(tops), 1e-3) if tops else 1.0


def colorize(values: np.ndarray, vmin: float, vmax: float, cmap: str = DEPTH_CMAP,
             valid: Optional[np.ndarray] = None) -> np.ndarray:
    """Map (H, W) values to RGB uint8 (H, W, 3) with a matplotlib colour map.

    Args:
        values (np.ndarray): (H, W) values, e.g. depth in metres.
        vmin, vmax (float): Values mapped to the ends of the colour map (clipped).
        cmap (str): matplotlib colour map name.
        valid (np.ndarray, optional): (H, W) bool; other pixels get ``INVALID_RGB``.
            Defaults to :func:`valid_depth` of ``values``.
    """
    from matplotlib import colormaps
    values = np.asarray(values, dtype=np.float64)
    valid = valid_depth(values) if valid is None else valid
    scaled = np.clip((np.nan_to_num(values) - vmin) / max(vmax - vmin, 1e-12), 0.0, 1.0)
    rgb = colormaps[cmap](scaled)[..., :3]
    rgb[~valid] = INVALID_RGB
    return np.rint(rgb * 255).astype(np.uint8)


def _resize_to(depth: Optional[np.ndarray], hw: Sequence[int], nearest: bool):
    if depth is None or depth.shape[:2] == tuple(hw):
        return depth
    import cv2
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.resize(depth.astype(np.float32), (int(hw[1]), int(hw[0])), interpolation=interp)


def depth_panel(image: np.ndarray, pred_m: np.ndarray, gt_m: Optional[np.ndarray] = None,
                title: Optional[str] = None, max_depth: Optional[float] = None,
                panel_width: float = 3.2, dpi: int = 100) -> np.ndarray:
    """Input, ground truth, prediction and error side by side, with colour bars in metres.

    Without ground truth the panel shows the input and the prediction. Ground truth
    and prediction share one colour scale (0 to the 99th percentile of both, or
    ``max_depth``); the error is ``|prediction - ground truth|`` on the pixels with
    ground truth (grey elsewhere), titled with its RMSE and mean absolute relative
    error over those pixels.

    Args:
        image (np.ndarray): (H, W, 3) RGB uint8 input image.
        pred_m (np.ndarray): (H, W) predicted depth in metres; resized (bilinear) to
            the image when its size differs.
        gt_m (np.ndarray, optional): (H, W) ground-truth depth in metres, 0 or
            non-finite = none; resized (nearest) to the image when its size differs.
        title (str, optional): Figure title (e.g. the image name).
        max_depth (float, optional): Top of the depth colour scale in metres.
        panel_width (float): Width of one panel in inches.
        dpi (int): Resolution of the rendered figure.

    Returns:
        np.ndarray: The panel as an RGB uint8 image (H', W', 3).
    """
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    image = np.asarray(image)
    hw = image.shape[:2]
    pred_m = _resize_to(np.asarray(pred_m, dtype=np.float32), hw, nearest=False)
    gt_m = _resize_to(None if gt_m is None else np.asarray(gt_m, dtype=np.float32), hw,
                      nearest=True)
    vmin, vmax = (0.0, float(max_depth)) if max_depth else depth_range(pred_m, gt_m)
    panels = [('input', image, None)]
    if gt_m is not None:
        panels.append(('ground truth', gt_m, (DEPTH_CMAP, vmin, vmax, 'depth (m)')))
    panels.append(('prediction', pred_m, (DEPTH_CMAP, vmin, vmax, 'depth (m)')))
    if gt_m is not None:
        valid = valid_depth(gt_m) & np.isfinite(pred_m)
        err = np.where(valid, np.abs(pred_m - gt_m), np.nan)
        if valid.any():
            rmse = float(np.sqrt(np.mean((pred_m[valid] - gt_m[valid]) ** 2)))
            abs_rel = float(np.mean(np.abs(pred_m[valid] - gt_m[valid]) / gt_m[valid]))
            err_title = f'|error|: RMSE {rmse:.2f} m, AbsRel {abs_rel:.2f}'
            err_top = max(float(np.percentile(err[valid], 99)), 1e-3)
        else:
            err_title, err_top = '|error|: no ground truth', 1.0
        panels.append((err_title, err, (ERROR_CMAP, 0.0, err_top, '|error| (m)')))

    aspect = hw[0] / hw[1]
    fig = Figure(figsize=(panel_width * len(panels), panel_width * aspect + 0.9), dpi=dpi,
                 layout='constrained')
    FigureCanvasAgg(fig)
    # row 0: the images, all the same size; row 1: their colour bars
    axes = fig.subplots(2, len(panels), squeeze=False,
                        gridspec_kw=dict(height_ratios=[1.0, 0.045]))
    for ax, bar_ax, (name, data, scale) in zip(axes[0], axes[1], panels):
        ax.set_title(name, fontsize=9)
        ax.set_axis_off()
        if scale is None:
            ax.imshow(data)
            bar_ax.set_axis_off()
            continue
        cmap_name, lo, hi, label = scale
        cmap = matplotlib.colormaps[cmap_name].with_extremes(bad=INVALID_RGB)
        shown = np.ma.masked_invalid(np.where(np.asarray(data) > 0, data, np.nan)
                                     if label.startswith('depth') else data)
        im = ax.imshow(shown, cmap=cmap, vmin=lo, vmax=hi, interpolation='nearest')
        bar = fig.colorbar(im, cax=bar_ax, orientation='horizontal')
        bar.set_label(label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()

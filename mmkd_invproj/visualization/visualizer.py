# Copyright (c) mmkd-invproj authors. All rights reserved.
"""MMSeg's ``SegLocalVisualizer`` with a depth panel for depth samples."""
from typing import Optional

import numpy as np
from mmengine.dist import master_only
from mmseg.visualization import SegLocalVisualizer

from ..registry import VISUALIZERS
from .depth import depth_panel


def _depth(data_sample, key: str) -> Optional[np.ndarray]:
    """(H, W) float metres of ``data_sample.<key>`` (a PixelData), or None."""
    if data_sample is None or key not in data_sample:
        return None
    data = getattr(data_sample, key).data
    data = data.detach().float().cpu().numpy() if hasattr(data, 'detach') else np.asarray(data)
    return data.reshape(data.shape[-2:])


@VISUALIZERS.register_module()
class DepthPanelVisualizer(SegLocalVisualizer):
    """``SegLocalVisualizer`` that draws a depth sample as a panel with metric scales.

    MMSeg's visualizer stacks a depth map as an unlabelled heat map under the image.
    Here a sample with ``pred_depth_map`` (or only ``gt_depth_map``) becomes
    :func:`~mmkd_invproj.visualization.depth.depth_panel`: input, ground truth,
    prediction and ``|error|``, colour bars in metres. Segmentation samples are drawn
    by ``SegLocalVisualizer`` itself (overlays with class names). Showing, writing to
    ``out_file`` and storing in the vis backends work as in the parent.

    Args:
        name (str): Instance name (MMEngine's visualizers are named singletons).
        max_depth (float, optional): Top of the depth colour scale in metres; None:
            the 99th percentile of each sample's ground truth and prediction.
        **kwargs: ``SegLocalVisualizer`` arguments (``vis_backends``,
            ``save_dir``, ``alpha`` ...).
    """

    def __init__(self, name: str = 'visualizer', max_depth: Optional[float] = None,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.max_depth = max_depth

    @master_only
    def add_datasample(self, name: str, image: np.ndarray, data_sample=None,
                       draw_gt: bool = True, draw_pred: bool = True, show: bool = False,
                       wait_time: float = 0, out_file: Optional[str] = None, step: int = 0,
                       with_labels: Optional[bool] = True) -> None:
        """Draw a sample, then show it, write it to ``out_file`` or store it.

        Args are those of ``SegLocalVisualizer.add_datasample``; ``image`` is RGB
        uint8 (H, W, 3), depth maps in the sample are in metres.
        """
        pred = _depth(data_sample, 'pred_depth_map') if draw_pred else None
        gt = _depth(data_sample, 'gt_depth_map') if draw_gt else None
        if pred is None and gt is None:
            return super().add_datasample(name, image, data_sample, draw_gt, draw_pred, show,
                                          wait_time, out_file, step, with_labels)
        title = name.split('_', 1)[1] if name.startswith(('test_', 'val_')) else name
        drawn = depth_panel(image, pred if pred is not None else gt,
                            gt if pred is not None else None, title=title,
                            max_depth=self.max_depth)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            import mmcv
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)

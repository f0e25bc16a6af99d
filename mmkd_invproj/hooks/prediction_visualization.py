# Copyright (c) mmkd-invproj authors. All rights reserved.
"""MMSeg's visualisation hook, made usable by ``tools/test.py --show/--show-dir``."""
import os
import os.path as osp
from typing import Optional, Sequence

import mmcv
import mmengine.fileio as fileio
from mmseg.engine.hooks import SegVisualizationHook

from ..registry import HOOKS


@HOOKS.register_module()
class PredictionVisualizationHook(SegVisualizationHook):
    """``SegVisualizationHook`` that draws every test image, one file per image.

    MMSeg's hook has two problems in a test run: it passes ``step=runner.iter``,
    which makes MMEngine build the *training* dataloader (``FileNotFoundError`` when
    only the test data is present), and it draws every ``interval``-th batch (50 by
    default: nothing on a small test set). Here every test image is drawn (``interval``
    still applies to validation during training) with a running index as the step,
    and with ``test_out_dir`` each drawing is written to
    ``<test_out_dir>/<image name without extension>.png`` (as MMDet's
    ``DetVisualizationHook`` does) instead of the vis backends. With a
    :class:`~mmkd_invproj.visualization.DepthPanelVisualizer` a depth image becomes a
    panel of input, ground truth, prediction and error in metres.

    Args:
        draw (bool): Draw at all. Defaults to False (as MMSeg's hook).
        interval (int): Validation: draw every ``interval``-th batch. Defaults to 50.
        show (bool): Show each drawing in a window (no file is stored).
        wait_time (float): Seconds each window stays (0: until a key is pressed).
        test_out_dir (str, optional): Folder for one PNG per test image; None: the
            visualizer's vis backends (``<work_dir>/<timestamp>/vis_data/vis_image``).
        backend_args (dict, optional): MMEngine file backend arguments for reading
            the images.
    """

    def __init__(self, draw: bool = False, interval: int = 50, show: bool = False,
                 wait_time: float = 0., test_out_dir: Optional[str] = None,
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(draw=draw, interval=interval, show=show, wait_time=wait_time,
                         backend_args=backend_args)
        self.test_out_dir = test_out_dir
        self._test_index = 0

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence) -> None:
        """Draw every sample of the batch (the test loop's predictions)."""
        if not self.draw:
            return
        if self.test_out_dir is not None:
            os.makedirs(self.test_out_dir, exist_ok=True)
        for sample in outputs:
            self._test_index += 1
            img_path = sample.img_path
            img = mmcv.imfrombytes(fileio.get(img_path, backend_args=self.backend_args),
                                   channel_order='rgb')
            name = osp.splitext(osp.basename(img_path))[0]
            out_file = (osp.join(self.test_out_dir, f'{name}.png')
                        if self.test_out_dir is not None else None)
            self._visualizer.add_datasample(
                f'test_{name}', img, data_sample=sample, show=self.show,
                wait_time=self.wait_time, out_file=out_file, step=self._test_index)


def enable_test_drawing(cfg, show: bool = False, show_dir: Optional[str] = None,
                        wait_time: float = 2.0) -> None:
    """Configure ``cfg`` (in place) so a test run draws every prediction.

    What ``tools/test.py --show / --show-dir / --wait-time`` do: the ``visualization``
    default hook becomes a drawing :class:`PredictionVisualizationHook` (files under
    ``show_dir``), and MMSeg's ``SegLocalVisualizer`` a
    :class:`~mmkd_invproj.visualization.DepthPanelVisualizer` (another visualizer type
    in the config is kept).

    Args:
        cfg (Config): The run's config.
        show (bool): Show each drawing in a window.
        show_dir (str, optional): Folder for one PNG per test image.
        wait_time (float): Seconds each window stays open.
    """
    hooks = cfg.setdefault('default_hooks', {})
    old = hooks.get('visualization') or {}
    hooks['visualization'] = dict(type='PredictionVisualizationHook', draw=True,
                                  interval=old.get('interval', 50), show=show,
                                  wait_time=wait_time, test_out_dir=show_dir,
                                  backend_args=old.get('backend_args'))
    visualizer = cfg.get('visualizer') or dict(type='SegLocalVisualizer', name='visualizer')
    if visualizer.get('type') in ('SegLocalVisualizer', 'mmseg.SegLocalVisualizer'):
        visualizer['type'] = 'DepthPanelVisualizer'  # registered in MMSeg's registry
    cfg.visualizer = visualizer

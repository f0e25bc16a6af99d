# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Peak signal-to-noise ratio of translated images (Table 10's PSNR)."""
import math
from typing import Any, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from ..registry import METRICS


def psnr(pred: Any, target: Any, max_value: float = 255.0) -> float:
    """PSNR in dB of one image against its target.

    ``10 log10(max_value^2 / MSE)`` with the mean squared error over all pixels and
    channels, in float64 (the standard definition; no border crop, no Y channel).

    Args:
        pred: The image (array-like or tensor, any shape, 0-255 scale).
        target: The reference, same shape.
        max_value (float): The peak value. Defaults to 255 (8-bit images).

    Returns:
        float: PSNR in dB; ``inf`` for identical images.

    Raises:
        ValueError: for different shapes.
    """
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f'shapes differ: {pred.shape} vs {target.shape}')
    mse = float(np.mean((pred - target) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(max_value ** 2 / mse)


@METRICS.register_module()
class PSNRMetric(BaseMetric):
    """Mean over images of the per-image PSNR (:func:`psnr`) of the translated image
    ``pred_img`` against the real target ``gt_img`` (uint8 RGB (3, H, W), as the
    translation models' ``predict`` returns them). Reported as ``PSNR`` (dB).

    Args:
        pred_key (str): Data-sample key of the prediction.
        gt_key (str): Data-sample key of the target.
        collect_device (str): Where results are gathered across ranks.
        prefix (str, optional): Metric name prefix.

    Raises:
        KeyError: (in ``process``) for a sample without both keys (e.g. a validation
            set without domain B).
    """

    default_prefix: Optional[str] = ''

    def __init__(self, pred_key: str = 'pred_img', gt_key: str = 'gt_img',
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pred_key, self.gt_key = pred_key, gt_key

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if self.pred_key not in sample or self.gt_key not in sample:
                raise KeyError(f'PSNRMetric needs {self.pred_key!r} and {self.gt_key!r} in each '
                               f'data sample; got {sorted(sample)}')
            self.results.append(psnr(sample[self.pred_key].cpu().numpy(),
                                     sample[self.gt_key].cpu().numpy()))

    def compute_metrics(self, results: list) -> dict:
        return dict(PSNR=float(np.mean(results)))

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""MMSeg's ``DepthMetric`` with a working ``depth_metrics`` subset.

MMSeg 1.2.2's ``DepthMetric.__init__`` tests ``isinstance(depth_metrics, [tuple, list])``
(a list, not a tuple, of types), so every explicit subset, e.g.
``depth_metrics=['d1', 'abs_rel', 'rmse']``, raises ``TypeError: isinstance() arg 2
must be a type, a tuple of types, or a union`` before anything is computed (reported
upstream as open-mmlab/mmsegmentation#3882). Importing ``mmkd_invproj`` registers the
subclass below under the same name in MMSeg's ``METRICS`` registry, so a config keeps
writing ``dict(type='DepthMetric', depth_metrics=[...])``.
"""
from typing import Optional, Sequence

from mmseg.evaluation.metrics import DepthMetric as _MMSegDepthMetric
from mmseg.registry import METRICS

__all__ = ['DepthMetric']


@METRICS.register_module(name='DepthMetric', force=True)
class DepthMetric(_MMSegDepthMetric):
    """MMSeg's ``DepthMetric``; ``depth_metrics`` selects a subset of its metrics.

    Everything but the argument check is MMSeg's: each image's metrics are computed
    by MMSeg's ``_calc_all_metrics`` and averaged over the images, so a subset has
    exactly the values the full computation gives for the same names, in the order
    given.

    Args:
        depth_metrics (Sequence[str], optional): Names out of ``DepthMetric.METRICS``
            (``'d1', 'd2', 'd3', 'abs_rel', 'sq_rel', 'rmse', 'rmse_log', 'log10',
            'silog'``). None (default) computes all of them.
        **kwargs: MMSeg's ``DepthMetric`` arguments (``min_depth_eval``,
            ``max_depth_eval``, ``crop_type``, ``depth_scale_factor``,
            ``collect_device``, ``output_dir``, ``format_only``, ``prefix``).

    Raises:
        TypeError: when ``depth_metrics`` is neither None nor a list/tuple of names
            (a single string included: write ``['rmse']``).
        ValueError: when a name is not one of ``METRICS`` (the valid names are listed),
            when the subset is empty or repeats a name.
    """

    def __init__(self, depth_metrics: Optional[Sequence[str]] = None, **kwargs) -> None:
        metrics = self._check_names(depth_metrics)
        super().__init__(depth_metrics=None, **kwargs)
        self.metrics = metrics

    @classmethod
    def _check_names(cls, depth_metrics: Optional[Sequence[str]]) -> Sequence[str]:
        if depth_metrics is None:
            return cls.METRICS  # as MMSeg: all of them
        if not isinstance(depth_metrics, (list, tuple)):
            raise TypeError('depth_metrics must be a list of metric names out of '
                            f'{list(cls.METRICS)}, got {depth_metrics!r}')
        unknown = [m for m in depth_metrics if m not in cls.METRICS]
        if unknown:
            raise ValueError(f'DepthMetric cannot compute {unknown}; depth_metrics takes '
                             f'names out of {list(cls.METRICS)}')
        if not depth_metrics or len(set(depth_metrics)) != len(depth_metrics):
            raise ValueError('depth_metrics must name each metric once and at least one, '
                             f'got {list(depth_metrics)}')
        return list(depth_metrics)

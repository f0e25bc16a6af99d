# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Analysis shared by the hooks, the tools in ``tools/analysis`` and the tests:
projector spectra and ranks, the eq. 18 loss decomposition, timing, the rank
experiment and the results tables.

The names below are imported on first use (PEP 562 module ``__getattr__``):
``import mmkd_invproj`` loads only :mod:`.spectrum` (for ``ProjectorSpectrumHook``),
not the benchmark, rank-experiment, results and timing modules the tools need.
``from mmkd_invproj.analysis import run_benchmark`` and
``from mmkd_invproj.analysis import results`` work as with eager imports.
"""
import importlib
from typing import Any, List

#: submodule -> the public names it contributes, in ``__all__`` order
_EXPORTS = {
    'benchmark': ('PHASES', 'PHASE_NAMES', 'component_ratios', 'compute_ratios',
                  'format_report', 'load_config', 'make_extra_phases', 'make_phases',
                  'per_round_ratios', 'ratio_line', 'run_benchmark', 'split_pairs',
                  'teacher_forward'),
    'decomposition': ('decompose_batch', 'decompose_distill_loss', 'format_result',
                      'load_distiller_batch', 'loss_scale', 'low_rank_part'),
    'rank_experiment': ('CASES', 'PROJECTORS', 'build_runner', 'distill_config',
                        'run_rank_experiment', 'summarise', 'summary_table'),
    'results': ('ResultsError', 'classify', 'classify_dir_name', 'collect', 'improvement',
                'select_line'),
    'spectrum': ('effective_rank', 'load_spectrum', 'numerical_rank', 'plot_spectrum',
                 'projector_singular_values'),
    'timing': ('CLOCKS', 'measure_memory', 'quantiles', 'rss_step_peak', 'static_bytes',
               'tensor_step_peak', 'time_interleaved'),
}
_SOURCE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [name for names in _EXPORTS.values() for name in names]


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` and return ``name`` from it.

    Raises:
        AttributeError: for a name that is not in ``__all__`` (Python then tries a
            submodule of that name for ``from mmkd_invproj.analysis import <name>``).
    """
    module = _SOURCE.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'.{module}', __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))

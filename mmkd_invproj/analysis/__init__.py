# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Analysis shared by the hooks, the tools in ``tools/analysis`` and the tests:
projector spectra and ranks, the eq. 18 loss decomposition, timing, the rank
experiment and the results tables."""
from .benchmark import (PHASE_NAMES, PHASES, component_ratios, compute_ratios, format_report,
                        load_config, make_extra_phases, make_phases, per_round_ratios,
                        ratio_line, run_benchmark, split_pairs, teacher_forward)
from .decomposition import (decompose_batch, decompose_distill_loss, format_result,
                            load_distiller_batch, loss_scale, low_rank_part)
from .rank_experiment import (CASES, PROJECTORS, build_runner, distill_config,
                              run_rank_experiment, summarise, summary_table)
from .results import ResultsError, classify, classify_dir_name, collect, improvement, select_line
from .spectrum import (effective_rank, load_spectrum, numerical_rank, plot_spectrum,
                       projector_singular_values)
from .timing import (CLOCKS, measure_memory, quantiles, rss_step_peak, static_bytes,
                     tensor_step_peak, time_interleaved)

__all__ = [
    'PHASES', 'PHASE_NAMES', 'component_ratios', 'compute_ratios', 'format_report',
    'load_config', 'make_extra_phases', 'make_phases', 'per_round_ratios', 'ratio_line',
    'run_benchmark', 'split_pairs', 'teacher_forward', 'decompose_batch',
    'decompose_distill_loss', 'format_result', 'load_distiller_batch', 'loss_scale',
    'low_rank_part', 'CASES', 'PROJECTORS', 'build_runner', 'distill_config',
    'run_rank_experiment', 'summarise', 'summary_table', 'ResultsError', 'classify',
    'classify_dir_name', 'collect', 'improvement', 'select_line', 'effective_rank',
    'load_spectrum', 'numerical_rank', 'plot_spectrum', 'projector_singular_values',
    'CLOCKS', 'measure_memory', 'quantiles', 'rss_step_peak', 'static_bytes',
    'tensor_step_peak', 'time_interleaved'
]

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Timing and peak memory of training steps, on ``torch.utils.benchmark``."""
import ctypes
import os
import platform
import re
import time
import timeit
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

if TYPE_CHECKING:
    from torch.utils.benchmark import Measurement

#: clocks a step can be timed with: ``'wall'`` (``timeit.default_timer``) or ``'cpu'``
#: (``time.process_time``: user + system time of every thread of the process)
CLOCKS = ('wall', 'cpu')
MiB = 2.0**20


def step_timer(clock: str, device: torch.device) -> Callable[[], float]:
    """The ``timer`` of a :class:`torch.utils.benchmark.Timer`: ``clock`` in seconds,
    after synchronising a CUDA device.

    Raises:
        ValueError: for a clock not in :data:`CLOCKS`.
    """
    if clock not in CLOCKS:
        raise ValueError(f'clock must be one of {CLOCKS}, got {clock!r}')
    base = timeit.default_timer if clock == 'wall' else time.process_time
    if device.type != 'cuda':
        return base

    def synchronized() -> float:
        torch.cuda.synchronize(device)
        return base()
    return synchronized


def time_interleaved(phases: Dict[str, Callable[[], object]], warmup: int, iters: int,
                     clock: str = 'wall', device: torch.device = torch.device('cpu'),
                     progress: Optional[Callable[[str], None]] = None
                     ) -> Dict[str, 'Measurement']:
    """Time each phase once per round, ``warmup`` rounds discarded, ``iters`` kept.

    A round measures every phase with ``Timer.blocked_autorange(min_run_time=0)``:
    one untimed warm-up call, then one timed call (garbage collection paused, torch's
    thread count kept). The order of the phases rotates every round (round ``r``
    starts at phase ``r % n``), so a change of load on a shared machine, and the
    order itself, affect every phase alike.

    Args:
        phases (dict): ``{name: callable}``.
        warmup (int): Rounds discarded.
        iters (int): Rounds kept.
        clock (str): ``'wall'`` or ``'cpu'`` (see :data:`CLOCKS`).
        device (torch.device): A CUDA device is synchronised around each call.
        progress (Callable[[str], None], optional): Called with one line per round.

    Returns:
        dict[str, Measurement]: per phase; ``.times`` are the ``iters`` seconds in
        round order, ``.median`` their median.
    """
    timer = step_timer(clock, device)
    # imported here: torch.utils.benchmark imports setuptools and torch's C++ extension
    # builder (0.3 s, and a CUDA warning on CPU machines) for every importer of the package
    from torch.utils.benchmark import Measurement, Timer
    timers = {k: Timer('fn()', globals=dict(fn=fn), timer=timer, label=k,
                       num_threads=torch.get_num_threads()) for k, fn in phases.items()}
    keys = list(phases)
    kept: Dict[str, List['Measurement']] = {k: [] for k in keys}
    for r in range(warmup + iters):
        order = keys[r % len(keys):] + keys[:r % len(keys)]
        this_round = {k: timers[k].blocked_autorange(min_run_time=0) for k in order}
        if r >= warmup:
            for k in keys:
                kept[k].append(this_round[k])
        if progress is not None:
            progress(f'round {r + 1} of {warmup + iters} '
                     f'({"warm-up" if r < warmup else "timed"}, {clock} clock): '
                     + ', '.join(f'({k}) {1e3 * this_round[k].median:.1f} ms' for k in keys))
    return {k: Measurement.merge(ms)[0] for k, ms in kept.items()}


def quantiles(values: Sequence[float]) -> Dict[str, float]:
    """min, 25 %, median, 75 %, max of ``values`` (linear interpolation)."""
    q = np.percentile(np.asarray(values, dtype=np.float64), [0, 25, 50, 75, 100])
    return dict(min=q[0], p25=q[1], median=q[2], p75=q[3], max=q[4])


# ---------------------------------------------------------------- memory
def static_bytes(model: torch.nn.Module, optim_wrapper=None) -> int:
    """Bytes of the parameters, buffers and optimizer state (each storage once)."""
    tensors = list(model.parameters()) + list(model.buffers())
    if optim_wrapper is not None:
        for state in optim_wrapper.optimizer.state.values():
            tensors += [v for v in state.values() if torch.is_tensor(v)]
    storages = {(t.untyped_storage().data_ptr(), t.device): t.untyped_storage().nbytes()
                for t in tensors}
    return sum(storages.values())


def _proc_status_kib(field: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            m = re.search(rf'^{field}:\s+(\d+) kB', f.read(), re.M)
        return int(m.group(1)) if m else None
    except OSError:
        return None


def rss_step_peak(fn: Callable[[], object]) -> Optional[int]:
    """Growth in bytes of the peak resident set over one call of ``fn`` (Linux).

    ``malloc_trim(0)`` first returns freed heap pages to the system, then writing
    ``5`` to ``/proc/self/clear_refs`` resets ``VmHWM`` to the current RSS. Counts
    everything the process touches (oneDNN and OpenMP buffers too), but also
    allocator fragmentation, and misses pages glibc reuses without returning them.

    Returns:
        int or None: ``VmHWM`` after the call minus ``VmRSS`` before it; None where
        ``/proc`` or the reset is not available.
    """
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except OSError:
        pass
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        return None
    before = _proc_status_kib('VmRSS')
    fn()
    peak = _proc_status_kib('VmHWM')
    if before is None or peak is None:
        return None
    return max(peak - before, 0) * 1024


def quiet_profiler_without_gpu() -> None:
    """Silence kineto's log on a machine without a GPU (unless ``KINETO_LOG_LEVEL``
    is set): a CUDA build of torch probes the GPU when a profile ends and logs
    ``gpuGetDeviceCount failed with code 35`` (plus profiler start/stop marks).
    ``torch.cuda.is_available()`` itself probes quietly."""
    if not torch.cuda.is_available():
        os.environ.setdefault('KINETO_LOG_LEVEL', '6')  # above kineto's highest level


def tensor_step_peak(fn: Callable[[], object]) -> Optional[int]:
    """Peak growth in bytes of live CPU tensor memory over one call of ``fn``.

    Replays ``torch.profiler``'s memory events (every allocation and free of
    PyTorch's CPU allocator) and returns the maximum of their running sum: exact for
    tensors, blind to memory oneDNN or OpenMP allocate themselves.

    Returns:
        int or None: None if this profiler build records no memory events.
    """
    from torch.profiler import ProfilerActivity, profile
    quiet_profiler_without_gpu()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    try:
        events = prof.profiler.kineto_results.events()
        mem = sorted((e.start_ns(), e.nbytes()) for e in events
                     if e.name() == '[memory]' and e.device_type() == torch.autograd.DeviceType.CPU)
    except AttributeError:
        return None
    if not mem:
        return None
    return max(0, int(np.cumsum([nbytes for _, nbytes in mem]).max()))


def cuda_step_peak(fn: Callable[[], object], device: torch.device) -> int:
    """Peak growth of ``torch.cuda.memory_allocated`` in bytes over one call."""
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    fn()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - before


def measure_memory(fn: Callable[[], object], model, optim_wrapper,
                   device: torch.device) -> Dict[str, Optional[float]]:
    """Memory of one training step, in MiB.

    Returns:
        dict: ``static`` (:func:`static_bytes`), the step's peak growth (on CUDA
        ``step_cuda``; on a CPU ``step_tensors`` and ``step_rss``) and ``total`` =
        ``static`` + ``step_cuda`` or ``step_tensors``.
    """
    out: Dict[str, Optional[float]] = dict(static=static_bytes(model, optim_wrapper) / MiB)
    if device.type == 'cuda':
        out['step_cuda'] = cuda_step_peak(fn, device) / MiB
        out['total'] = out['static'] + out['step_cuda']
        return out
    rss = rss_step_peak(fn)
    tensors = tensor_step_peak(fn)
    out['step_rss'] = None if rss is None else rss / MiB
    out['step_tensors'] = None if tensors is None else tensors / MiB
    if tensors is not None:
        out['total'] = out['static'] + out['step_tensors']
    return out


def machine_description(device: torch.device) -> str:
    """``'<CPU or GPU name>, N cores, T torch threads, torch X'``."""
    if device.type == 'cuda':
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or 'CPU'
        try:
            with open('/proc/cpuinfo') as f:
                m = re.search(r'^model name\s*:\s*(.+)$', f.read(), re.M)
            name = m.group(1).strip() if m else name
        except OSError:
            pass
    return (f'{name}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, '
            f'torch {torch.__version__}')

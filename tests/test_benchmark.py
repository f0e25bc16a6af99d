"""The benchmark (mmkd_invproj.analysis.benchmark, timing): its arithmetic, its timing
loop, its memory probes, a tiny run and its command line (no speed is asserted here:
the figures are for the benchmark)."""
import json
import os.path as osp
import re

import numpy as np
import pytest
import torch

from mmkd_invproj.analysis import benchmark as bench
from mmkd_invproj.analysis import timing

from .conftest import DEPTH_DEMO as DEMO
from .conftest import REPO, SHARED, run_tool

RATIO_LINE = re.compile(r'^overhead = (\d+\.\d{3}), early_exit = (\d+\.\d{3}), '
                        r'spectral = (\d+\.\d{3})$')


def test_ratios_are_the_documented_quotients():
    med = dict(a=2.0, b=1.0, c=4.0, d=3.3, e=3.63)
    r = bench.compute_ratios(med)
    assert r == pytest.approx(dict(overhead=1.1, early_exit=0.25, spectral=1.1))
    assert bench.ratio_line(r) == 'overhead = 1.100, early_exit = 0.250, spectral = 1.100'
    comp = bench.component_ratios(med, dict(pairs_d=0.06, spectral_e=0.033))
    assert comp['overhead'] == pytest.approx(3.06 / 3.0)
    assert comp['spectral'] == pytest.approx(3.333 / 3.3)
    assert (comp['pairs_d_ms'], comp['spectral_e_ms']) == pytest.approx((60.0, 33.0))


def test_quantiles():
    q = timing.quantiles([5.0, 1.0, 4.0, 2.0, 3.0])
    assert q == dict(min=1.0, p25=2.0, median=3.0, p75=4.0, max=5.0)


def test_time_interleaved_rotates_the_phase_order_and_drops_warmup():
    calls = []
    phases = {k: (lambda k=k: calls.append(k)) for k in 'abc'}
    progress = []
    times = timing.time_interleaved(phases, warmup=1, iters=3, progress=progress.append)
    # blocked_autorange: one warm-up call, then one timed call, per phase and round
    assert ''.join(calls) == ''.join(2 * k for k in 'abc' + 'bca' + 'cab' + 'abc')
    assert {k: len(m.times) for k, m in times.items()} == dict(a=3, b=3, c=3)
    assert all(t > 0 for m in times.values() for t in m.times)
    assert all(m.median == pytest.approx(np.median(m.times)) for m in times.values())
    assert len(progress) == 4 and progress[0].startswith('round 1 of 4 (warm-up, wall clock)')


def test_the_cpu_clock_counts_process_time_not_sleep():
    import time
    times = timing.time_interleaved({'s': lambda: time.sleep(0.05)}, 0, 1, clock='cpu')
    wall = timing.time_interleaved({'s': lambda: time.sleep(0.05)}, 0, 1, clock='wall')
    assert times['s'].median < 0.02 and wall['s'].median >= 0.05
    with pytest.raises(ValueError, match=r"clock must be one of \('wall', 'cpu'\)"):
        timing.step_timer('gpu', torch.device('cpu'))


def test_split_pairs_adds_a_spectral_pair_or_keeps_the_configs_own():
    enc = dict(name='enc', student='backbone', teacher='encoder',
               loss=dict(type='FitNetsLoss'))
    d, e = bench.split_pairs([enc], rank=3, module='decode_head.conv_in', source='input')
    assert d == [enc]
    assert e == [enc, dict(name='bench_spectral', student='decode_head.conv_in',
                           student_source='input', loss=dict(type='SpectralLoss', rank=3))]
    own = dict(name='spec', student='backbone', loss=dict(type='SpectralLoss', rank=2))
    d, e = bench.split_pairs([enc, own], rank=3, module='x', source='input')
    assert d == [enc] and e == [enc, own]


def test_static_bytes_counts_parameters_and_adam_state_once():
    lin = torch.nn.Linear(10, 5)  # 55 float32 parameters = 220 bytes
    wrapper = type('W', (), {})()
    wrapper.optimizer = torch.optim.Adam(lin.parameters())
    assert timing.static_bytes(lin, wrapper) == 220
    lin(torch.ones(1, 10)).sum().backward()
    wrapper.optimizer.step()
    # + exp_avg and exp_avg_sq (2 x 220) + one float32 `step` scalar per parameter
    assert timing.static_bytes(lin, wrapper) == 220 + 440 + 2 * 4


def test_tensor_step_peak_is_the_largest_live_tensor_total():
    def fn():
        a = torch.ones(1 << 20, dtype=torch.uint8)  # 1 MiB
        b = torch.ones(4 << 20, dtype=torch.uint8)  # + 4 MiB while a lives
        del a, b
        c = torch.ones(2 << 20, dtype=torch.uint8)  # 2 MiB later: not the peak
        del c
    peak = timing.tensor_step_peak(fn)
    if peak is None:
        pytest.skip('this torch build records no profiler memory events')
    assert peak == 5 << 20


@pytest.mark.skipif(not osp.exists('/proc/self/clear_refs'), reason='Linux /proc only')
def test_rss_step_peak_sees_touched_memory():
    def fn():
        x = np.ones(64 << 20, dtype=np.uint8)  # 64 MiB, every page touched
        del x
    growth = timing.rss_step_peak(fn)
    if growth is None:
        pytest.skip('/proc/self/clear_refs cannot be written here')
    assert 60 << 20 <= growth <= 128 << 20, growth


def test_a_tiny_run_reports_the_phases_memory_and_extra_work(shared_dir):
    cfg = bench.load_config(DEMO)
    res = bench.run_benchmark(cfg, batch=1, input_size=(64, 64), warmup=0, iters=1,
                              image_dirs=[osp.join(SHARED, 'data', 'nyu_mini', 'images')],
                              extra_iters=2)
    lines = bench.format_report(res)
    m = RATIO_LINE.match(lines[-1])
    assert m, lines[-1]
    r = bench.compute_ratios({k: v[0] for k, v in res['times'].items()})
    assert [float(g) for g in m.groups()] == [round(r[k], 3) for k in
                                              ('overhead', 'early_exit', 'spectral')]
    assert '1 real frames resized to 64x64' in res['info']['batch']
    assert 'bench_spectral: decode_head.conv_in->None SpectralLoss' in res['info']['pairs']
    assert res['info']['teachers'] == \
        "teacher: MobileNetV2 (torch.float32), watches ['features.18']"
    assert set(res['memory']) == {'a', 'd'} and res['memory']['d']['static'] > \
        res['memory']['a']['static'] > 0  # (d) holds the teacher and projector too
    assert {k: len(v) for k, v in res['extra'].items()} == dict(pairs_d=2, spectral_e=2)


def test_teacher_forward_sets_and_restores_the_early_exit():
    calls = []

    class Teacher:
        early_exit = True

    class Distiller:
        teachers = dict(t=Teacher())
        pairs = type('P', (), dict(teacher_names=['t']))()

        def teacher_features(self, inputs):
            calls.append(self.teachers['t'].early_exit)
    d = Distiller()
    bench.teacher_forward(d, None, early_exit=False)
    bench.teacher_forward(d, None, early_exit=True)
    assert calls == [False, True] and d.teachers['t'].early_exit is True


def test_cli_prints_progress_then_the_ratio_line_last_and_no_gpu_probe_error(tmp_path,
                                                                             shared_dir):
    out = tmp_path / 'bench.json'
    proc = run_tool('analysis/benchmark.py', DEMO, '--batch', '1', '--input-size', '64', '64',
                    '--warmup', '1', '--iters', '1', '--extra-iters', '1', '--clock', 'cpu',
                    '--json', out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert 'round 1 of 2 (warm-up, cpu clock): (a) ' in proc.stdout
    assert 'round 2 of 2 (timed, cpu clock): (a) ' in proc.stdout
    # a CUDA build of torch without a GPU: kineto's device probe stays quiet
    assert 'gpuGetDeviceCount' not in proc.stdout + proc.stderr
    res = json.loads(out.read_text())
    m = RATIO_LINE.match(lines[-1])
    assert m, lines[-1]
    assert [float(g) for g in m.groups()] == [round(res['ratios'][k], 3) for k in
                                              ('overhead', 'early_exit', 'spectral')]
    assert res['clock'] == 'cpu' and res['info']['config'] == DEMO
    assert res['memory']['d']['step_tensors'] > 0


def test_cli_refuses_a_config_without_teacher():
    with pytest.raises(ValueError, match='needs a CrossTaskDistiller model with a teacher'):
        bench.load_config(osp.join(REPO, 'configs/depth/mbv2_baseline.py'))

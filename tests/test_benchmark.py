"""tools/analysis/benchmark.py: its arithmetic, its timing loop, its memory probes and a
tiny end-to-end run (no speed is asserted here: the figures are for the benchmark)."""
import importlib.util
import os.path as osp
import re

import numpy as np
import pytest
import torch

from .conftest import REPO

_spec = importlib.util.spec_from_file_location(
    'mmkd_benchmark', osp.join(REPO, 'tools', 'analysis', 'benchmark.py'))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

RATIO_LINE = re.compile(r'^overhead = (\d+\.\d{3}), early_exit = (\d+\.\d{3}), '
                        r'spectral = (\d+\.\d{3})$')


def test_ratios_are_the_documented_quotients():
    med = dict(a=2.0, b=1.0, c=4.0, d=3.3, e=3.63)
    r = bench.compute_ratios(med)
    assert r == pytest.approx(dict(overhead=1.1, early_exit=0.25, spectral=1.1))
    assert bench.ratio_line(r) == 'overhead = 1.100, early_exit = 0.250, spectral = 1.100'
    comp = bench.component_ratios(med, dict(pairs_d=[0.3, 0.03, 0.06], spectral_e=[0.033]))
    assert comp['overhead'] == pytest.approx(3.06 / 3.0)  # median extra 0.06 s
    assert comp['spectral'] == pytest.approx(3.333 / 3.3)


def test_quantiles():
    q = bench.quantiles([5.0, 1.0, 4.0, 2.0, 3.0])
    assert q == dict(min=1.0, p25=2.0, median=3.0, p75=4.0, max=5.0)


def test_time_interleaved_rotates_the_phase_order_and_drops_warmup():
    calls = []
    phases = {k: (lambda k=k: calls.append(k)) for k in 'abc'}
    times = bench.time_interleaved(phases, warmup=1, iters=3, device=torch.device('cpu'))
    assert ''.join(calls) == 'abc' + 'bca' + 'cab' + 'abc'
    for clock in bench.CLOCKS:
        assert {k: len(v) for k, v in times[clock].items()} == dict(a=3, b=3, c=3)
        assert all(t >= 0 for v in times[clock].values() for t in v)


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
    assert bench.static_bytes(lin, wrapper) == 220
    lin(torch.ones(1, 10)).sum().backward()
    wrapper.optimizer.step()
    # + exp_avg and exp_avg_sq (2 x 220) + one float32 `step` scalar per parameter
    assert bench.static_bytes(lin, wrapper) == 220 + 440 + 2 * 4


def test_tensor_step_peak_is_the_largest_live_tensor_total():
    def fn():
        a = torch.ones(1 << 20, dtype=torch.uint8)  # 1 MiB
        b = torch.ones(4 << 20, dtype=torch.uint8)  # + 4 MiB while a lives
        del a, b
        c = torch.ones(2 << 20, dtype=torch.uint8)  # 2 MiB later: not the peak
        del c
    peak = bench.tensor_step_peak(fn)
    if peak is None:
        pytest.skip('this torch build records no profiler memory events')
    assert peak == 5 << 20


@pytest.mark.skipif(not osp.exists('/proc/self/clear_refs'), reason='Linux /proc only')
def test_rss_step_peak_sees_touched_memory():
    def fn():
        x = np.ones(64 << 20, dtype=np.uint8)  # 64 MiB, every page touched
        del x
    growth = bench.rss_step_peak(fn)
    if growth is None:
        pytest.skip('/proc/self/clear_refs cannot be written here')
    assert 60 << 20 <= growth <= 128 << 20, growth


def test_cli_prints_the_ratio_line_last(capsys, shared_dir):
    res = bench.main(['configs/depth/mbv2_cls_teacher_inv_demo.py', '--batch', '1',
                      '--input-size', '64', '64', '--warmup', '0', '--iters', '1',
                      '--extra-iters', '2'])
    out = capsys.readouterr().out.strip().splitlines()
    m = RATIO_LINE.match(out[-1])
    assert m, out[-1]
    r = bench.compute_ratios({k: v[0] for k, v in res['times']['wall'].items()})
    assert [float(g) for g in m.groups()] == [round(r[k], 3) for k in
                                              ('overhead', 'early_exit', 'spectral')]
    assert 'real frames resized to 64x64' in res['info']['batch']
    assert 'bench_spectral: decode_head.conv_in->None SpectralLoss' in res['info']['pairs']
    assert set(res['memory']) == {'a', 'd'} and res['memory']['d']['static'] > \
        res['memory']['a']['static'] > 0  # (d) holds the teacher and projector too
    assert len(res['extra']['cpu']['spectral_e']) == 2


def test_cli_refuses_a_config_without_teacher():
    with pytest.raises(ValueError, match='needs a CrossTaskDistiller model with a teacher'):
        bench.main(['configs/depth/mbv2_baseline.py'])

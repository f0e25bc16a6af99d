"""The results tables (mmkd_invproj.analysis.results, tools/analysis/collect_results.py)
on synthetic work directories with known numbers.

The runs are laid out as MMEngine writes them (``<work_dir>/<timestamp>/vis_data/
scalars.json`` with training and validation lines, the config dumped beside it); the
stored configs are real dumps of the repository's configs. Expected improvements are
computed by hand: positive = inverted better, for lower-is-better metrics too.
"""
import json
import os.path as osp

import pytest
from mmengine.config import Config

from mmkd_invproj.analysis import results

from .conftest import REPO, run_tool

DEPTH_KEYS = ('d1', 'd2', 'd3', 'abs_rel', 'sq_rel', 'rmse', 'rmse_log')


@pytest.fixture(scope='module')
def tool():
    return results


@pytest.fixture(scope='module')
def dumped_configs(tmp_path_factory):
    """Real MMEngine dumps of four repository configs (as a run stores them)."""
    out = tmp_path_factory.mktemp('configs')
    paths = {}
    for name in ('mbv2_cls_fitnets_trad', 'mbv2_cls_fitnets_inv', 'mbv2_cls_ensemble_inv',
                 'mbv2_baseline'):
        path = str(out / f'{name}.py')
        Config.fromfile(osp.join(REPO, 'configs', 'depth', f'{name}.py')).dump(path)
        paths[name] = path
    return paths


def depth(*values, **extra):
    return dict(zip(DEPTH_KEYS, values), log10=0.1, silog=9.0, data_time=0.01, step=25, **extra)


def make_run(root, name, val_lines, config=None, timestamp='20240101_000000'):
    """A work dir ``root/name`` with one run: training lines, then ``val_lines``."""
    vis = root / name / timestamp / 'vis_data'
    vis.mkdir(parents=True)
    rows = [dict(lr=2e-4, loss=1.5, **{'decode.loss_silog': 1.2}, epoch=1, iter=1, step=1)]
    for i, val in enumerate(val_lines):
        rows += [dict(lr=1e-4, loss=1.0, epoch=i + 1, iter=10 * (i + 1), step=10 * (i + 1)),
                 val]
    (vis / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    if config is not None:
        (vis / 'config.py').write_text(open(config).read())
    return str(root / name)


EXPECTED_DEPTH = """\
| Method | Projection | δ1 ↑ | δ2 ↑ | δ3 ↑ | Abs Rel ↓ | Sq Rel ↓ | RMS ↓ | RMS log ↓ |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
| *No teacher (baseline)* |  | 0.845 ±0.007 | 0.975 ±0.007 | 0.990 ±0.000 | 0.125 ±0.007 | 0.080 ±0.000 | 0.450 ±0.014 | 0.165 ±0.007 |
| FitNets | Traditional | 0.800 | 0.900 | 0.950 | 0.200 | 0.100 | 0.500 | 0.250 |
|  | Inverted (ours) | 0.820 | 0.918 | 0.931 | 0.190 | 0.104 | 0.450 | 0.240 |
|  | *Improvement* | 2.50% | 2.00% | -2.00% | 5.00% | -4.00% | 10.00% | 4.00% |
| AT | Traditional | 0.500 | 0.600 | 0.700 | 0.400 | 0.300 | 0.800 | 0.200 |
|  | Inverted (ours) | 0.505 | 0.594 | 0.707 | 0.404 | 0.297 | 0.808 | 0.202 |
|  | *Improvement* | 1.00% | -1.00% | 1.00% | -1.00% | 1.00% | -1.00% | -1.00% |
| Ensemble | Inverted (ours) | 0.830 | 0.970 | 0.990 | 0.130 | 0.070 | 0.420 | 0.150 |
"""


@pytest.fixture
def depth_runs(tmp_path, dumped_configs):
    cfg = dumped_configs
    dirs = [
        # FitNets from stored configs; the inverted run was resumed: two timestamps,
        # the final validation line is in the second one
        make_run(tmp_path, 'run_a', [depth(.7, .8, .9, .3, .2, .6, .3),
                                     depth(.800, .900, .950, .200, .100, .500, .250)],
                 cfg['mbv2_cls_fitnets_trad']),
        make_run(tmp_path, 'run_b', [depth(.6, .7, .8, .4, .3, .7, .4)],
                 cfg['mbv2_cls_fitnets_inv']),
        # AT from the directory names (no stored config)
        make_run(tmp_path, 'mbv2_cls_at_trad', [depth(.500, .600, .700, .400, .300, .800, .200)]),
        make_run(tmp_path, 'mbv2_cls_at_inv', [depth(.505, .594, .707, .404, .297, .808, .202)]),
        # an ensemble with only the inverted run: no improvement row
        make_run(tmp_path, 'run_c', [depth(.830, .970, .990, .130, .070, .420, .150)],
                 cfg['mbv2_cls_ensemble_inv']),
        # a baseline recognised from its config (no distill_pairs)
        make_run(tmp_path, 'run_d', [depth(.840, .970, .990, .130, .080, .440, .160)],
                 cfg['mbv2_baseline']),
    ]
    make_run(tmp_path, 'run_b', [depth(.820, .918, .931, .190, .104, .450, .240)],
             cfg['mbv2_cls_fitnets_inv'], timestamp='20240102_000000')
    # a second baseline run given with --baseline (its name says nothing)
    extra = make_run(tmp_path, 'other', [depth(.850, .980, .990, .120, .080, .460, .170)])
    return dirs, extra


def test_depth_table_markdown(tool, depth_runs):
    dirs, baseline = depth_runs
    assert tool.collect(dirs, [baseline]) == EXPECTED_DEPTH
    proc = run_tool('analysis/collect_results.py', *dirs, '--baseline', baseline)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == EXPECTED_DEPTH


def test_classification_from_stored_config_and_name(tool, depth_runs, dumped_configs):
    dirs, _ = depth_runs
    assert [tool.classify(d) for d in dirs] == [
        ('FitNets', 'Traditional'), ('FitNets', 'Inverted'), ('AT', 'Traditional'),
        ('AT', 'Inverted'), ('Ensemble', 'Inverted'), ('baseline', None)]
    assert tool.classify_dir_name('/x/r50_cls_pkt_trad') == ('PKT', 'Traditional')
    assert tool.classify_dir_name('/x/deeplabv3_r50_baseline/') == ('baseline', None)
    with pytest.raises(tool.ResultsError, match='does not end in <method>_<inv|trad>'):
        tool.classify_dir_name('/x/my_run')


def test_best_line_and_metric_subset(tool, tmp_path):
    lines = [depth(.80, .9, .95, .20, .1, .45, .2), depth(.82, .9, .95, .21, .1, .47, .2),
             depth(.81, .9, .95, .19, .1, .46, .2)]
    assert tool.select_line(lines, 'best', 'd1')['d1'] == .82  # higher is better
    assert tool.select_line(lines, 'best', 'rmse')['rmse'] == .45  # lower is better
    assert tool.select_line(lines, 'last', 'd1') is lines[-1]
    trad = make_run(tmp_path, 'x_fitnets_trad', lines)
    inv = make_run(tmp_path, 'x_fitnets_inv', [depth(.84, .9, .95, .18, .1, .36, .2)])
    table = tool.collect([trad, inv], which='best', best_by='rmse', metric_keys=['d1', 'rmse'])
    # best trad line by RMS is the first: d1 0.80, RMS 0.45; improvements 5.00%, 20.00%
    assert table.splitlines()[2:] == [
        '| FitNets | Traditional | 0.800 | 0.450 |',
        '|  | Inverted (ours) | 0.840 | 0.360 |',
        '|  | *Improvement* | 5.00% | 20.00% |']


def test_segmentation_table(tool, tmp_path):
    def seg(miou, macc, aacc):
        return dict(aAcc=aacc, mIoU=miou, mAcc=macc, data_time=0.01, step=80)
    dirs = [make_run(tmp_path, 'deeplabv3_r50_cls_pkt_trad', [seg(40.0, 50.0, 80.0)]),
            make_run(tmp_path, 'deeplabv3_r50_cls_pkt_inv', [seg(41.0, 49.0, 80.8)])]
    assert tool.collect(dirs) == (
        '| Method | Projection | mIoU ↑ | mAcc ↑ | aAcc ↑ |\n'
        '| --- | --- | --- | --- | --- |\n'
        '| PKT | Traditional | 40.000 | 50.000 | 80.000 |\n'
        '|  | Inverted (ours) | 41.000 | 49.000 | 80.800 |\n'
        '|  | *Improvement* | 2.50% | -2.00% | 1.00% |\n')


def test_errors_are_explained(tool, tmp_path):
    empty = tmp_path / 'nothing_fitnets_inv'
    empty.mkdir()
    with pytest.raises(tool.ResultsError, match='no <timestamp>/vis_data/scalars.json'):
        tool.collect([str(empty)])
    proc = run_tool('analysis/collect_results.py', empty)
    assert proc.returncode == 1
    assert 'error: ' in proc.stderr and 'no <timestamp>/vis_data/scalars.json' in proc.stderr
    d = make_run(tmp_path, 'a_fitnets_inv', [depth(.8, .9, .95, .2, .1, .5, .25)])
    s = make_run(tmp_path, 'b_fitnets_trad', [dict(aAcc=80.0, mIoU=40.0, mAcc=50.0, step=1)])
    with pytest.raises(tool.ResultsError, match=r"the runs mix tasks \['depth', 'seg'\]"):
        tool.collect([d, s])
    assert tool.improvement('rmse', 0.0, 0.1) is None


def test_a_row_pools_seeds_of_one_experiment_only(tmp_path, dumped_configs):
    """Two seeds of one config share a row; another config in the same row is refused."""
    inv = dumped_configs['mbv2_cls_fitnets_inv']
    a = make_run(tmp_path, 'inv_s0', [depth(0.80, 0.9, 0.95, 0.2, 0.1, 0.5, 0.25)], inv)
    b = make_run(tmp_path, 'inv_s1', [depth(0.82, 0.9, 0.95, 0.2, 0.1, 0.5, 0.25)], inv)
    table = results.collect([a, b], metric_keys=['d1'])
    assert '| FitNets | Inverted (ours) | 0.810 ±0.014 |' in table
    other = tmp_path / 'other.py'
    other.write_text(open(inv).read().replace('loss_weight=1.0', 'loss_weight=0.5'))
    c = make_run(tmp_path, 'lw05', [depth(0.70, 0.9, 0.95, 0.2, 0.1, 0.5, 0.25)], str(other))
    with pytest.raises(results.ResultsError,
                       match=r"inv_s0 and .*lw05 fall into one row \('FitNets', 'Inverted'\) "
                             r'but are different experiments'):
        results.collect([a, c], metric_keys=['d1'])


def test_translation_runs_give_a_psnr_table(tmp_path):
    runs = [make_run(tmp_path, f'p2p_s{i}', [dict(PSNR=v, step=8)])
            for i, v in enumerate((17.0, 18.0, 19.0))]
    table = results.collect([], baseline_dirs=runs, digits=2)
    assert table.splitlines()[:3] == ['| Method | Projection | PSNR ↑ |', '| --- | --- | --- |',
                                      '| *No teacher (baseline)* |  | 18.00 ±1.00 |']


def test_each_stored_config_is_parsed_once(tmp_path, dumped_configs, monkeypatch):
    """collect finds and parses a run's stored config once, for the method and
    projection and for the experiment check alike."""
    runs = [make_run(tmp_path, name, [depth(0.8, 0.9, 0.95, 0.2, 0.1, 0.5, 0.25)],
                     dumped_configs[name])
            for name in ('mbv2_cls_fitnets_trad', 'mbv2_cls_fitnets_inv', 'mbv2_baseline')]
    parsed = []
    fromfile = Config.fromfile

    def counting(path, *args, **kwargs):
        parsed.append(path)
        return fromfile(path, *args, **kwargs)
    monkeypatch.setattr(Config, 'fromfile', counting)
    table = results.collect(runs[:2], baseline_dirs=runs[2:], metric_keys=['d1'])
    assert sorted(parsed) == sorted(osp.join(r, '20240101_000000', 'vis_data', 'config.py')
                                    for r in runs)
    assert table.splitlines()[2:5] == ['| *No teacher (baseline)* |  | 0.800 |',
                                       '| FitNets | Traditional | 0.800 |',
                                       '|  | Inverted (ours) | 0.800 |']


def test_the_fingerprint_counts_paths_under_the_experiment_keys_only(tmp_path, dumped_configs):
    """What the docstrings say: the seed, work_dir and load_from do not make another
    experiment; a different dataset root or teacher checkpoint (paths under
    `train_dataloader` and `model`) does."""
    base = Config.fromfile(dumped_configs['mbv2_cls_fitnets_inv']).to_dict()
    loader = base['train_dataloader']
    assert loader['dataset']['data_root'] == 'data/nyu'
    assert base['model'].get('teacher_ckpt') is None
    variants = {
        'seed': dict(base, randomness=dict(seed=123), work_dir='/elsewhere', load_from='/a.pth'),
        'ckpt': dict(base, model=dict(base['model'], teacher_ckpt='/other/teacher.pth')),
        'root': dict(base, train_dataloader=dict(
            loader, dataset=dict(loader['dataset'], data_root='/other/nyu'))),
    }
    same = results.config_fingerprint(base)
    assert [results.config_fingerprint(v) == same for v in variants.values()] == [
        True, False, False]
    a = make_run(tmp_path, 'inv_s0', [depth(0.80, 0.9, 0.95, 0.2, 0.1, 0.5, 0.25)],
                 dumped_configs['mbv2_cls_fitnets_inv'])
    for name, cfg in variants.items():
        path = tmp_path / f'{name}.py'
        Config(cfg).dump(str(path))
        b = make_run(tmp_path, f'inv_{name}', [depth(0.82, 0.9, 0.95, 0.2, 0.1, 0.5, 0.25)],
                     str(path))
        if name == 'seed':
            assert '| FitNets | Inverted (ours) | 0.810 ±0.014 |' in results.collect(
                [a, b], metric_keys=['d1'])
        else:
            with pytest.raises(results.ResultsError, match='different experiments'):
                results.collect([a, b], metric_keys=['d1'])

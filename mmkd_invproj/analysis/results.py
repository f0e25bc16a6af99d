# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Validation metrics of several runs as the supplementary's tables (Tables 4-8): one
row per KD method x projection (traditional, then inverted), an *Improvement* row per
method and an optional baseline row, in Markdown.

For every work directory:

* **metrics**: MMEngine's ``<work_dir>/<timestamp>/vis_data/scalars.json``; validation
  lines are those with MMSeg's ``DepthMetric`` keys (``d1 d2 d3 abs_rel sq_rel rmse
  rmse_log``) or ``IoUMetric`` keys (``aAcc mIoU mAcc``), which also give the task.
  Timestamps of a resumed run are read in order; ``which='last'`` takes the last
  line, ``'best'`` the best by the table's first metric or ``best_by``.
* **method and projection**: from the config stored with the run (the newest
  ``<timestamp>/vis_data/config.py``, else the ``<work_dir>/*.py`` dump): each
  ``distill_pairs`` entry's loss type gives the method (``FitNetsLoss`` -> FitNets,
  ``ATLoss`` -> AT, ``PKTLoss`` -> PKT, ``SpectralLoss`` -> Spectral, ``XLoss`` -> X;
  an ``EnsembleProjector`` makes it Ensemble), its projector the projection. No
  ``distill_pairs``: a baseline. Without a stored config the directory name must end
  in ``<method>_<inv|trad>`` (fitnets, at, pkt, ensemble, spectral) or ``baseline``.

* **experiment**: runs pooled into one row must be repeats of one experiment: their
  stored configs must agree in :data:`EXPERIMENT_KEYS` (:func:`config_fingerprint`).

Each run's stored config is found and parsed once (:func:`load_stored_config`).

Improvement (positive = the inverted projection is better): ``100 * (inv - trad) /
|trad|``, or ``100 * (trad - inv) / |trad|`` for lower-is-better metrics, from the
unrounded means. Several runs of one method x projection are shown as ``mean ±std``
(sample standard deviation).
"""
import glob
import json
import os.path as osp
import re
import statistics
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

#: metric columns per task, in the paper's order, with their display names
TASK_METRICS: Dict[str, Tuple[Tuple[str, str], ...]] = {
    'depth': (('d1', 'δ1 ↑'), ('d2', 'δ2 ↑'), ('d3', 'δ3 ↑'), ('abs_rel', 'Abs Rel ↓'),
              ('sq_rel', 'Sq Rel ↓'), ('rmse', 'RMS ↓'), ('rmse_log', 'RMS log ↓')),
    'seg': (('mIoU', 'mIoU ↑'), ('mAcc', 'mAcc ↑'), ('aAcc', 'aAcc ↑')),
    'translation': (('PSNR', 'PSNR ↑'),),  # add FID with --metrics PSNR FID
}
#: metrics where a smaller value is better (every other metric: larger is better)
LOWER_IS_BETTER = frozenset({'abs_rel', 'sq_rel', 'rmse', 'rmse_log', 'log10', 'silog', 'FID'})
#: the top-level keys of a stored config that define an experiment: everything under them
#: counts, the paths there too (``model.teacher_ckpt``, ``train_dataloader``'s
#: ``data_root``); every other key does not (the seed in ``randomness``, ``work_dir``,
#: ``load_from`` / ``resume``, ``launcher``, hooks, logging, validation and testing)
EXPERIMENT_KEYS = ('model', 'train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler')
#: method display names from loss types, and the paper's row order
LOSS_METHODS = {'FitNetsLoss': 'FitNets', 'ATLoss': 'AT', 'PKTLoss': 'PKT',
                'SpectralLoss': 'Spectral'}
METHOD_ORDER = ('FitNets', 'AT', 'PKT', 'Ensemble')
PROJECTIONS = {'InvertedProjector': 'Inverted', 'TraditionalProjector': 'Traditional'}
PROJECTION_ORDER = ('Traditional', 'Inverted')
#: directory-name fallback: ``..._<method>_<inv|trad>`` or ``..._baseline``
DIR_PATTERN = re.compile(r'(?:^|_)(fitnets|at|pkt|ensemble|spectral)_(inv|trad)$')
DIR_METHODS = {'fitnets': 'FitNets', 'at': 'AT', 'pkt': 'PKT', 'ensemble': 'Ensemble',
               'spectral': 'Spectral'}
BASELINE = ('baseline', None)


class ResultsError(ValueError):
    """A work directory that cannot be read or classified (the message says why)."""


# ------------------------------------------------------------------ reading runs
def read_validation_lines(work_dir: str) -> List[dict]:
    """Every validation line of ``work_dir``'s ``*/vis_data/scalars.json`` files.

    Args:
        work_dir (str): A run's work directory.

    Returns:
        list[dict]: The JSON objects that hold a known metric key, timestamps in order.

    Raises:
        ResultsError: when there is no scalars.json or no validation line.
    """
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise ResultsError(f'{work_dir}: no <timestamp>/vis_data/scalars.json (is it an '
                           'MMEngine work directory of a run that validated?)')
    known = {k for cols in TASK_METRICS.values() for k, _ in cols}
    lines = []
    for path in files:
        with open(path) as f:
            lines += [row for row in map(json.loads, filter(str.strip, f))
                      if known & set(row)]
    if not lines:
        raise ResultsError(f'{work_dir}: {len(files)} scalars.json file(s) but no validation '
                           f'line (none has any of {sorted(known)})')
    return lines


def detect_task(lines: Sequence[dict]) -> str:
    """'depth', 'seg' or 'translation', from the metric keys of the validation lines."""
    for task, cols in TASK_METRICS.items():
        if all(k in lines[-1] for k, _ in cols):
            return task
    raise ResultsError(f'validation keys {sorted(lines[-1])} hold none of the metric sets '
                       f'{ {t: [k for k, _ in c] for t, c in TASK_METRICS.items()} }; pass '
                       '--metrics')


def config_fingerprint(cfg: Dict[str, Any]) -> str:
    """A parsed config's :data:`EXPERIMENT_KEYS` as canonical JSON.

    Two runs have the same fingerprint when their configs agree in everything under
    those keys, the paths there included (a different ``model.teacher_ckpt`` or
    ``train_dataloader.dataset.data_root`` is a different experiment); they may differ
    in every other key (the seed in ``randomness``, ``work_dir`` ...).

    Args:
        cfg (dict): A config as a plain dict (``Config.to_dict()``).
    """
    return json.dumps({k: cfg.get(k) for k in EXPERIMENT_KEYS}, sort_keys=True, default=str)


def experiment_fingerprint(work_dir: str) -> Optional[str]:
    """:func:`config_fingerprint` of the run's stored config (None without one)."""
    stored = load_stored_config(work_dir)
    return None if stored is None else config_fingerprint(stored[1])


def select_line(lines: Sequence[dict], which: str, key: str) -> dict:
    """The last validation line, or the best one by ``key`` (direction per metric)."""
    if which == 'last':
        return lines[-1]
    scored = [row for row in lines if key in row]
    if not scored:
        raise ResultsError(f'no validation line has the metric "{key}" (--best-by)')
    pick = min if key in LOWER_IS_BETTER else max
    return pick(scored, key=lambda row: row[key])


def stored_config(work_dir: str) -> Optional[str]:
    """The config MMEngine stored with the run: the newest
    ``<timestamp>/vis_data/config.py``, else the single ``<work_dir>/*.py``."""
    dumped = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'config.py')))
    if dumped:
        return dumped[-1]
    top = sorted(glob.glob(osp.join(work_dir, '*.py')))
    return top[0] if len(top) == 1 else None


def load_stored_config(work_dir: str) -> Optional[Tuple[str, Dict[str, Any]]]:
    """The run's :func:`stored_config`, parsed: ``(path, config as a plain dict)``, or
    None without a stored config.

    Raises:
        Exception: what ``mmengine.config.Config.fromfile`` raises for an unreadable
            config (custom imports are not run).
    """
    cfg_path = stored_config(work_dir)
    if cfg_path is None:
        return None
    from mmengine.config import Config
    return cfg_path, Config.fromfile(cfg_path, import_custom_modules=False).to_dict()


def classify_config(cfg: Union[str, Dict[str, Any]],
                    source: Optional[str] = None) -> Tuple[str, Optional[str]]:
    """(method, projection) of a stored config; ``('baseline', None)`` without pairs.

    Args:
        cfg (str | dict): The config file, or the config already parsed (a plain
            dict, as :func:`load_stored_config` gives it).
        source (str, optional): Where a parsed ``cfg`` came from, for the messages
            (default: the file ``cfg``).

    Raises:
        ResultsError: for a pair without a loss type.
    """
    if isinstance(cfg, str):
        from mmengine.config import Config
        source = source or cfg
        cfg = Config.fromfile(cfg, import_custom_modules=False).to_dict()
    model = cfg.get('model') or {}
    pairs = model.get('distill_pairs') or []
    if not pairs:
        return BASELINE
    methods, projections = [], []
    for pair in pairs:
        loss_type = (pair.get('loss') or {}).get('type')
        if not loss_type:
            raise ResultsError(f'{source or "config"}: distill pair {pair.get("name")!r} has '
                               'no loss type')
        method = LOSS_METHODS.get(loss_type, re.sub(r'Loss$', '', loss_type))
        projector = pair.get('projector') or {}
        if projector.get('type') == 'EnsembleProjector':
            method = 'Ensemble'
            projector = projector.get('projector') or dict(type='InvertedProjector')
        methods.append(method)
        if projector:
            projections.append(PROJECTIONS.get(projector['type'], projector['type']))
    join = lambda xs: '+'.join(dict.fromkeys(xs)) or None  # noqa: E731
    return join(methods), join(projections)


def classify_dir_name(work_dir: str) -> Tuple[str, Optional[str]]:
    """(method, projection) from a directory name ``..._<method>_<inv|trad>``.

    Raises:
        ResultsError: when the name follows neither pattern.
    """
    name = osp.basename(osp.normpath(work_dir))
    if name == 'baseline' or name.endswith('_baseline'):
        return BASELINE
    match = DIR_PATTERN.search(name)
    if match is None:
        raise ResultsError(
            f'{work_dir}: no stored config and the name "{name}" does not end in '
            '<method>_<inv|trad> (method: fitnets, at, pkt, ensemble, spectral) or '
            '"baseline"; rename it, or keep the config MMEngine writes into the work dir')
    method, proj = match.groups()
    return DIR_METHODS[method], {'inv': 'Inverted', 'trad': 'Traditional'}[proj]


def classify(work_dir: str) -> Tuple[str, Optional[str]]:
    """(method, projection) of a run: its stored config, else its directory name.

    Raises:
        ResultsError: from :func:`classify_config` or :func:`classify_dir_name`.
    """
    return _classify(work_dir, load_stored_config(work_dir))


def _classify(work_dir: str, stored: Optional[Tuple[str, Dict[str, Any]]]
              ) -> Tuple[str, Optional[str]]:
    """:func:`classify` given the run's :func:`load_stored_config`."""
    return classify_config(stored[1], stored[0]) if stored else classify_dir_name(work_dir)


# ------------------------------------------------------------------ the table
def improvement(metric: str, trad: float, inv: float) -> Optional[float]:
    """% improvement of ``inv`` over ``trad``, positive when ``inv`` is better.

    ``100 * (inv - trad) / |trad|`` (higher-is-better) or ``100 * (trad - inv) / |trad|``
    (metrics in :data:`LOWER_IS_BETTER`); None when ``trad`` is 0.
    """
    if trad == 0:
        return None
    gain = (trad - inv) if metric in LOWER_IS_BETTER else (inv - trad)
    return 100.0 * gain / abs(trad)


def _mean_std(values: Sequence[float]) -> Tuple[float, Optional[float]]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def _fmt(values: Sequence[float], digits: int) -> str:
    mean, std = _mean_std(values)
    text = f'{mean:.{digits}f}'
    return text if std is None else f'{text} ±{std:.{digits}f}'


def _method_key(method: str) -> Tuple[int, str]:
    return (METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER), method)


def _projection_key(projection: Optional[str]) -> Tuple[int, str]:
    p = projection or ''
    return (PROJECTION_ORDER.index(p) if p in PROJECTION_ORDER else len(PROJECTION_ORDER), p)


def markdown_table(runs: Dict[Tuple[str, Optional[str]], List[dict]],
                   metrics: Sequence[Tuple[str, str]], digits: int = 3,
                   baseline: Optional[List[dict]] = None) -> str:
    """The paper's table as Markdown.

    Args:
        runs: ``{(method, projection): [metric dict per run]}``.
        metrics: ``(key, header)`` per column.
        digits (int): Decimals of the metric values (improvements: 2, with ``%``).
        baseline (list[dict], optional): Metric dicts of the baseline run(s).

    Returns:
        str: the table, lines joined by newlines, ending with a newline.
    """
    header = ['Method', 'Projection'] + [h for _, h in metrics]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]

    def row(cells):
        lines.append('| ' + ' | '.join(cells) + ' |')

    if baseline:
        row(['*No teacher (baseline)*', ''] + [_fmt([r[k] for r in baseline], digits)
                                                for k, _ in metrics])
    for method in sorted({m for m, _ in runs}, key=_method_key):
        projections = sorted((p for m, p in runs if m == method), key=_projection_key)
        for i, proj in enumerate(projections):
            label = {'Inverted': 'Inverted (ours)'}.get(proj, proj or '—')
            row([method if i == 0 else '', label]
                + [_fmt([r[k] for r in runs[method, proj]], digits) for k, _ in metrics])
        if {'Traditional', 'Inverted'} <= set(projections):
            cells = []
            for key, _ in metrics:
                trad = _mean_std([r[key] for r in runs[method, 'Traditional']])[0]
                inv = _mean_std([r[key] for r in runs[method, 'Inverted']])[0]
                gain = improvement(key, trad, inv)
                cells.append('n/a' if gain is None else f'{gain:.2f}%')
            row(['', '*Improvement*'] + cells)
    return '\n'.join(lines) + '\n'


def collect(work_dirs: Sequence[str], baseline_dirs: Sequence[str] = (), which: str = 'last',
            best_by: Optional[str] = None, metric_keys: Optional[Sequence[str]] = None,
            digits: int = 3) -> str:
    """Read the runs and return the Markdown table (see the module docstring).

    Args:
        work_dirs: Work directories of the runs (baselines among them are recognised).
        baseline_dirs: Work directories of explicit baseline runs.
        which (str): ``'last'`` or ``'best'`` validation line.
        best_by (str, optional): Metric that ranks lines for ``which='best'``
            (default: the table's first metric).
        metric_keys: Metric columns (default: all of the task's).
        digits (int): Decimals of the metric values.

    Raises:
        ResultsError: unreadable runs, runs of different tasks, missing metrics, or
            runs pooled into one row whose stored configs differ in
            :data:`EXPERIMENT_KEYS` (a row averages repeats of one experiment).
    """
    runs: Dict[Tuple[str, Optional[str]], List[dict]] = OrderedDict()
    baseline: List[dict] = []
    tasks = set()
    first_of_row: Dict[object, Tuple[str, Optional[str]]] = {}
    for work_dir in list(work_dirs) + list(baseline_dirs):
        lines = read_validation_lines(work_dir)
        task = detect_task(lines) if metric_keys is None else None
        tasks.add(task)
        if len(tasks) > 1:
            raise ResultsError(f'the runs mix tasks {sorted(map(str, tasks))}: one table per task')
        if metric_keys is None:
            metrics = TASK_METRICS[task]
        else:
            names = dict(h for cols in TASK_METRICS.values() for h in cols)
            metrics = tuple((k, names.get(k, k + (' ↓' if k in LOWER_IS_BETTER else ' ↑')))
                            for k in metric_keys)
        line = select_line(lines, which, best_by or metrics[0][0])
        missing = [k for k, _ in metrics if k not in line]
        if missing:
            raise ResultsError(f'{work_dir}: the selected validation line lacks {missing}')
        stored = load_stored_config(work_dir)  # parsed once, for both
        kind = BASELINE if work_dir in baseline_dirs else _classify(work_dir, stored)
        fingerprint = None if stored is None else config_fingerprint(stored[1])
        other_dir, other = first_of_row.setdefault(kind, (work_dir, fingerprint))
        if None not in (fingerprint, other) and fingerprint != other:
            raise ResultsError(
                f'{other_dir} and {work_dir} fall into one row {kind} but are different '
                f'experiments (their stored configs differ in {EXPERIMENT_KEYS}, not only '
                'in the seed): a row averages repeats of one experiment; collect them in '
                'separate tables')
        if kind == BASELINE:
            baseline.append(line)
        else:
            runs.setdefault(kind, []).append(line)
    return markdown_table(runs, metrics, digits, baseline or None)

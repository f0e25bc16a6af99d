# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Checks of a loaded config that the tools run before building anything.

MMEngine reports a misspelt ``type`` as a bare ``KeyError`` from deep inside the
Runner, a dict merged into an inherited ``model`` as ``unexpected keyword argument``,
and a missing dataset folder as a raw ``FileNotFoundError`` after the model and
several hundred log lines. :func:`check_config` turns the first two into messages
with the fix, :func:`check_data_roots` the third, both before the Runner starts.
"""
import difflib
import importlib
import inspect
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Set, Tuple

from mmengine.config import Config
from mmengine.registry import Registry

from .scoped_build import ScopeError

#: keys of a config dict that are no constructor arguments
_META_KEYS = ('type', '_scope_', '_delete_')

#: where each dataset's official files come from and how to lay them out
DATASET_HINTS = {
    'NYUDataset': (
        'NYUv2 depth in MMSeg\'s layout ({root}/images/<split>/*.jpg, '
        '{root}/annotations/<split>/*.png in millimetres). The paper\'s split (24,231 '
        'training frames of the raw sequences, as BTS/AdaBins, and the standard 654 test '
        'frames): python tools/dataset_converters/nyu.py bts --train-dir sync '
        '--train-list nyudepthv2_train_files_with_gt.txt --test-dir official_splits/test '
        '--test-list nyudepthv2_test_files_with_gt.txt {root} (sync.zip, the lists and '
        'official_splits/test as in https://github.com/cleinc/bts, README "NYU Depth V2"). '
        'The official labeled set (795 / 654 frames): python '
        'tools/dataset_converters/nyu.py labeled nyu_depth_v2_labeled.mat splits.mat '
        '{root} (both files from https://cs.nyu.edu/~silberman/datasets/nyu_depth_v2.html).'),
    'ADE20KDataset': (
        'ADE20K SceneParsing in MMSeg\'s layout ({root}/images/{{training,validation}}, '
        '{root}/annotations/{{training,validation}}): download ADEChallengeData2016.zip '
        'from http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip and '
        'unzip it into {parent} (no conversion needed).'),
}
#: the sample-data base per dataset type, for trying a config without the dataset
SAMPLE_BASES = {'NYUDataset': 'nyu_mini', 'ADE20KDataset': 'ade_mini'}


def _registry_roots() -> List[Registry]:
    """MMEngine's root registries, with MMEngine's and MMSeg's modules registered."""
    import mmengine.registry.root as root
    for module in ('mmengine.dataset', 'mmengine.evaluator', 'mmengine.hooks',
                   'mmengine.model', 'mmengine.optim', 'mmengine.runner',
                   'mmengine.visualization'):
        importlib.import_module(module)
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    return [r for r in vars(root).values() if isinstance(r, Registry)]


def _walk_registries(registry: Registry) -> Iterator[Registry]:
    yield registry
    for child in registry._children.values():
        yield from _walk_registries(child)


def registered_names() -> Set[str]:
    """Every type name registered in any registry of any imported scope."""
    names = set()
    for root in _registry_roots():
        for node in _walk_registries(root):
            node.import_from_location()
            names.update(node.module_dict)
    return names


def _config_dicts(node, path: str = '') -> Iterator[Tuple[str, dict]]:
    """(dotted key path, dict) for every dict in a config tree, depth first."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _config_dicts(value, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _config_dicts(value, f'{path}[{i}]')


def unknown_types(cfg: Config) -> List[Tuple[str, str, List[str]]]:
    """Unscoped string ``type`` values that no registry knows.

    Scoped (``'mmdet.ResNet'``) and dotted import-path types are left to the builder,
    which explains those (:func:`~mmkd_invproj.utils.scoped_build.build_in_scope`).

    Returns:
        list[tuple[str, str, list[str]]]: (key path, type name, up to 3 closest
        registered names) per unknown type.
    """
    names = None
    found = []
    for path, d in _config_dicts(cfg._cfg_dict.to_dict()):
        type_name = d.get('type')
        if not isinstance(type_name, str) or '.' in type_name:
            continue
        if names is None:
            names = registered_names()
        if type_name not in names:
            close = difflib.get_close_matches(type_name, sorted(names), n=3, cutoff=0.6)
            found.append((path or '<top level>', type_name, close))
    return found


def _model_class(model_cfg: dict, default_scope: str):
    from mmengine.registry import MODELS, DefaultScope
    scope = model_cfg.get('_scope_') or default_scope or 'mmseg'
    with DefaultScope.overwrite_default_scope(scope):
        with MODELS.switch_scope_and_registry(scope) as registry:
            return registry.get(model_cfg['type'])


def accepted_keywords(cls: type) -> Optional[Set[str]]:
    """The keyword arguments a model class takes.

    They are the named parameters of every ``__init__`` in the class's MRO (a subclass
    passes the rest on to its parents through ``**kwargs``) and the names in its
    ``accepted_keywords`` attribute (keywords a class reads from ``**kwargs`` itself).

    Args:
        cls (type): The model class.

    Returns:
        set[str] | None: The accepted names; None when the class takes ``**kwargs``
        and has no ``accepted_keywords`` attribute (any key may be right).
    """
    own = inspect.signature(cls).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in own) \
            and not hasattr(cls, 'accepted_keywords'):
        return None
    named = set(getattr(cls, 'accepted_keywords', ()))
    for klass in cls.__mro__:
        if '__init__' in vars(klass):
            try:
                params = inspect.signature(vars(klass)['__init__']).parameters.values()
            except (TypeError, ValueError):  # a builtin's __init__ has no signature
                continue
            named |= {p.name for p in params if p.name != 'self' and p.kind not in (
                inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)}
    return named


def _model_keys(cfg: Config) -> Tuple[Optional[str], List[str], Set[str]]:
    """(model class name, keys of the top-level ``model`` it does not take, the keys
    it takes); (None, [], set()) when there is no model class to check against."""
    model = cfg.get('model')
    if not isinstance(model, dict) or not isinstance(model.get('type'), str):
        return None, [], set()
    cls = _model_class(model, cfg.get('default_scope'))
    if cls is None:
        return None, [], set()
    accepted = accepted_keywords(cls)
    if accepted is None:
        return cls.__name__, [], set()
    return (cls.__name__, sorted(k for k in model if k not in accepted and k not in _META_KEYS),
            accepted)


def unexpected_model_keys(cfg: Config) -> Tuple[Optional[str], List[str]]:
    """Keys of the top-level ``model`` its class does not take (see
    :func:`accepted_keywords`).

    Args:
        cfg (Config): A loaded config.

    Returns:
        tuple[str | None, list[str]]: (class name, unexpected keys); (None, []) when
        the class is not found, and no keys when it takes ``**kwargs`` without naming
        them in an ``accepted_keywords`` attribute.
    """
    return _model_keys(cfg)[:2]


def check_config(cfg: Config) -> None:
    """Fail early, with the fix, on a misspelt type or an inherited ``model`` left merged.

    Args:
        cfg (Config): A loaded config (``custom_imports`` already imported, as
            ``Config.fromfile`` does).

    Raises:
        ScopeError: (a ``KeyError``) for a ``type`` no imported registry has; the
            message names the config key and the closest registered names.
        TypeError: when the top-level ``model`` holds keys its class does not take;
            for a ``model = dict(type=..., ...)`` that replaces an inherited model the
            message says to add ``_delete_=True``.
    """
    unknown = unknown_types(cfg)
    if unknown:
        lines = [f'  {path}: type="{name}"; closest registered names: {close or "none"}'
                 for path, name, close in unknown]
        raise ScopeError(
            'the config uses types that no imported scope registers:\n' + '\n'.join(lines)
            + '\nFix the spelling, or add the module that registers a type of your own to '
            "custom_imports = dict(imports=['mmkd_invproj', 'your_package.your_module'], "
            'allow_failed_imports=False).')
    cls_name, extra, accepted = _model_keys(cfg)
    close = {k: difflib.get_close_matches(k, sorted(accepted), n=3, cutoff=0.75)
             for k in extra}
    close = {k: v for k, v in close.items() if v}
    if close:
        raise TypeError(f'model: {cls_name} does not take {sorted(close)} (did you mean '
                        f'{close}?)')
    if extra:
        raise TypeError(
            f'model: {cls_name} does not take {extra}. They come from the `model` of a base '
            f'config, which `model = dict(type=\'{cfg.model["type"]}\', ...)` is merged into. '
            'Replace the inherited model instead of merging: add `_delete_=True` to that '
            f'dict (model = dict(_delete_=True, type=\'{cfg.model["type"]}\', ...)); keep '
            'the base model as the student with student=_base_.model.')


def _dataset_cfgs(dataset) -> Iterator[dict]:
    """The leaf dataset configs of a dataset config (wrappers unwrapped)."""
    if not isinstance(dataset, dict):
        return
    if 'datasets' in dataset:  # ConcatDataset
        for d in dataset['datasets']:
            yield from _dataset_cfgs(d)
    elif isinstance(dataset.get('dataset'), dict):  # RepeatDataset, ClassBalancedDataset
        yield from _dataset_cfgs(dataset['dataset'])
    else:
        yield dataset


def missing_data_paths(cfg: Config, dataloaders: Sequence[str]) -> List[Tuple[str, str, List[str]]]:
    """Dataset folders and annotation files a config's dataloaders need but do not find.

    Args:
        cfg (Config): The config.
        dataloaders (Sequence[str]): Top-level keys to check, e.g.
            ``('train_dataloader', 'val_dataloader')``; absent or None ones are skipped.

    Returns:
        list[tuple[str, str, list[str]]]: (dataset type, data_root, missing paths)
        per dataset with a missing path.
    """
    missing = []
    for key in dataloaders:
        loader = cfg.get(key)
        if not isinstance(loader, dict):
            continue
        for ds in _dataset_cfgs(loader.get('dataset')):
            root = ds.get('data_root') or ''
            paths = [p for p in (ds.get('data_prefix') or {}).values() if isinstance(p, str) and p]
            wanted = [osp.join(root, p) for p in paths] or ([root] if root else [])
            absent = [p for p in wanted if not osp.isdir(p)]
            ann = ds.get('ann_file')
            if ann and not osp.isfile(osp.join(root, ann)):
                absent.append(osp.join(root, ann))
            if absent:
                missing.append((str(ds.get('type')), root, absent))
    return missing


def check_data_roots(cfg: Config, dataloaders: Sequence[str]) -> None:
    """Fail before the Runner starts when a dataset the run needs is not on disk.

    Args:
        cfg (Config): The config.
        dataloaders (Sequence[str]): The dataloader keys the run uses (training:
            train and val; testing: test).

    Raises:
        FileNotFoundError: naming each missing path, the dataset's expected layout, the
            converter or download that produces it, the config key that points
            elsewhere and the sample-data base to try the config without it.
    """
    missing = missing_data_paths(cfg, dataloaders)
    if not missing:
        return
    parts = []
    for ds_type, root, absent in missing:
        hint = DATASET_HINTS.get(ds_type, 'See the dataset\'s documentation in MMSeg '
                                 '(docs/en/user_guides/2_dataset_prepare.md).')
        root_abs = osp.abspath(root) if root else '<data_root>'
        parts.append(f'{ds_type}: not found: {absent} (data_root={root!r}, i.e. {root_abs}).\n'
                     + hint.format(root=root or 'data_root',
                                   parent=osp.dirname(root_abs.rstrip('/'))))
        mini = SAMPLE_BASES.get(ds_type)
        if mini:
            parts.append(f'To try the config on the sample data instead, add '
                         f'\'mmkd_invproj::_base_/datasets/{mini}.py\' to its _base_ list '
                         '(README, "Your own config on the sample data").')
    raise FileNotFoundError(
        'the dataset is not where the config expects it:\n' + '\n'.join(parts)
        + '\nOr point the config at your copy: --cfg-options '
        + ' '.join(f'{k}.dataset.data_root=/path/to/data' for k in dataloaders if cfg.get(k)))


#: the dataloaders a run reads, per tool
RUN_DATALOADERS = {'train': ('train_dataloader', 'val_dataloader'), 'test': ('test_dataloader',)}


def check_run_config(cfg: Config, run: str) -> None:
    """Everything :mod:`tools/train.py <tools.train>` / ``tools/test.py`` check at start.

    Args:
        cfg (Config): The final config (``--cfg-options`` merged).
        run (str): ``'train'`` (train and, when ``val_cfg`` is set, val data) or
            ``'test'``.

    Raises:
        ScopeError, TypeError: from :func:`check_config`.
        FileNotFoundError: from :func:`check_data_roots`.
    """
    check_config(cfg)
    loaders = [k for k in RUN_DATALOADERS[run]
               if k != 'val_dataloader' or cfg.get('val_cfg') is not None]
    check_data_roots(cfg, loaders)

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Build a model config in the OpenMMLab scope its type names, with errors that say
which scope is missing and how to fix it.

MMEngine resolves ``type='mmdet.MaskRCNN'`` in MMDet's registry, but only the
top-level class: the detector's own ``MODELS.build(backbone/neck/rpn_head)`` calls
then resolve in the *default* scope ('mmseg' in an MMSeg config), where
``RPNHead`` does not exist (``KeyError: 'RPNHead is not in the mmseg::model
registry'``) and ``ResNet``/``FPN`` silently become MMSeg's classes. The fix MMEngine
offers is ``_scope_='mmdet'``; :func:`build_in_scope` adds it from the type's
prefix. Unknown types and scopes get a message naming the scope, the scopes that
do register the name, and the ``custom_imports`` line that fixes it.
"""
import contextlib
import copy
import difflib
import importlib
import importlib.util
import re
from typing import List, Optional

import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.registry import Registry

#: OpenMMLab packages that own a registry scope of the same name
OPENMMLAB_SCOPES = ('mmseg', 'mmdet', 'mmpretrain', 'mmcls', 'mmdet3d', 'mmpose', 'mmrazor',
                    'mmagic', 'mmedit', 'mmocr', 'mmaction', 'mmrotate', 'mmtrack', 'mmyolo',
                    'mmflow', 'mmselfsup', 'mmengine')

#: MMEngine's message for a type missing from the registry it was looked up in
_NOT_IN_REGISTRY = re.compile(
    r"(?P<name>[\w.]+) is not in the (?P<scope>\w+)::(?P<reg>\w+) registry")


class ScopeError(KeyError):
    """A type that no imported scope registers (a ``KeyError`` printed unquoted)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def _package_installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def installed_scopes(registry: Registry) -> List[str]:
    """Scopes usable in ``type='<scope>.<Name>'``: OpenMMLab packages that are installed
    and have a ``<scope>.registry`` module, plus registries already in the tree."""
    root = registry._get_root_registry()
    scopes = set(root._children)
    for name in OPENMMLAB_SCOPES:
        if _package_installed(name) and _package_installed(f'{name}.registry'):
            scopes.add(name)
    return sorted(scopes)


def scope_registry(registry: Registry, scope: str) -> Optional[Registry]:
    """The registry of kind ``registry`` (MODELS ...) owned by ``scope``, importing
    ``<scope>.registry`` and the modules it lists; None when there is none."""
    try:
        importlib.import_module(f'{scope}.registry')
    except ImportError:
        pass
    root = registry._get_root_registry()
    child = root if root.scope == scope else root._search_child(scope)
    if child is not None:
        child.import_from_location()
    return child


def scopes_registering(registry: Registry, name: str) -> List[str]:
    """Every installed scope whose ``registry`` kind has a class called ``name``."""
    found = []
    for scope in installed_scopes(registry):
        child = scope_registry(registry, scope)
        if child is not None and name in child.module_dict:
            found.append(scope)
    return found


def _imports_line(module: str) -> str:
    return (f"custom_imports = dict(imports=['mmkd_invproj', '{module}'], "
            'allow_failed_imports=False)')


def explain_missing_type(registry: Registry, type_name: str, default_scope: str,
                         role: str) -> str:
    """A message for ``type_name`` not found while building the ``role`` model.

    Args:
        registry (Registry): The registry kind that was searched (MODELS).
        type_name (str): The missing type, with or without a ``scope.`` prefix.
        default_scope (str): The scope it was looked up in.
        role (str): 'teacher' or 'student', for the message.

    Returns:
        str: what is missing, where the name does exist, and the config line to fix it.
    """
    scopes = installed_scopes(registry)
    if '.' in type_name:
        scope, name = type_name.split('.', 1)
        child = scope_registry(registry, scope)
        if child is None:
            close = difflib.get_close_matches(scope, scopes, n=3, cutoff=0.5)
            return (f'the {role} type "{type_name}" names the scope "{scope}", which is not '
                    f'an installed OpenMMLab package with a registry (installed scopes: '
                    f'{scopes}; did you mean {close or "none"}?). Fix the prefix, or install '
                    f'the package and import it: {_imports_line(scope)}.')
        close = difflib.get_close_matches(name, sorted(child.module_dict), n=5, cutoff=0.6)
        elsewhere = [s for s in scopes_registering(registry, name) if s != scope]
        where = (f' "{name}" is registered in scope(s) {elsewhere}: write '
                 f'type="{elsewhere[0]}.{name}".') if elsewhere else ''
        return (f'the {role} type "{type_name}": scope "{scope}" has no {registry.name} '
                f'entry "{name}" (close names: {close or "none"}).{where} If "{name}" is '
                'defined in a module of your own, register it in that scope and add the '
                f'module to custom_imports: {_imports_line("your_package.your_module")}.')
    owners = [s for s in scopes_registering(registry, type_name) if s != default_scope]
    if owners:
        return (f'the {role} config uses type "{type_name}", which is not registered in the '
                f'default scope "{default_scope}" but in {owners}. Prefix the {role}\'s '
                f'top-level type with its scope (type="{owners[0]}.<Model>", the whole model '
                f'is then built in "{owners[0]}") or set _scope_="{owners[0]}" in the '
                f'{role} config.')
    child = scope_registry(registry, default_scope)
    known = sorted(child.module_dict) if child is not None else []
    close = difflib.get_close_matches(type_name, known, n=5, cutoff=0.6)
    return (f'the {role} config uses type "{type_name}", which no imported scope registers '
            f'(searched {scopes}; close names in "{default_scope}": {close or "none"}). If it '
            'is defined in a module of your own, add that module to custom_imports: '
            f'{_imports_line("your_package.your_module")}.')


def build_in_scope(cfg: dict, registry: Registry, role: str = 'teacher',
                   default_scope: str = 'mmseg') -> nn.Module:
    """Build ``cfg`` so that a scoped type builds its whole model in its own scope.

    ``type='mmdet.MaskRCNN'`` becomes ``type='MaskRCNN', _scope_='mmdet'``: MMEngine
    then switches the default scope while the detector builds its children. An
    explicit ``_scope_`` is left alone.

    Args:
        cfg (dict): A MODELS config.
        registry (Registry): The registry to build from (mmseg's MODELS).
        role (str): 'teacher' or 'student', for error messages.
        default_scope (str): The scope used to explain unknown unscoped types.

    Returns:
        nn.Module: the built model.

    Raises:
        ScopeError: (a ``KeyError``) when a type, or the scope it names, is not
            registered; the message names the scope, the scopes that do register
            the name and the ``custom_imports``/prefix fix.
    """
    cfg = ConfigDict(copy.deepcopy(cfg))  # detectors read nested cfgs as attributes
    type_name = cfg.get('type')
    if isinstance(type_name, str) and '.' in type_name and '_scope_' not in cfg:
        scope, name = type_name.split('.', 1)
        if scope_registry(registry, scope) is not None:
            cfg['_scope_'], cfg['type'] = scope, name
        else:
            raise ScopeError(explain_missing_type(registry, type_name, default_scope, role))
    try:
        return registry.build(cfg)
    except KeyError as e:
        match = _NOT_IN_REGISTRY.search(str(e))
        if match is None or isinstance(e, ScopeError):
            raise
        missing, scope = match.group('name'), match.group('scope')
        if scope == cfg.get('_scope_') and '.' not in missing:
            missing_msg = explain_missing_type(registry, f'{scope}.{missing}', scope, role)
        else:
            missing_msg = explain_missing_type(registry, missing, scope, role)
        raise ScopeError(missing_msg) from e


def mmseg_default_scope():
    """A context in which nested configs build in the 'mmseg' scope when no default
    scope is set (inside a Runner the config's ``default_scope`` applies; outside,
    in a notebook or a test, MMEngine would look ``SegDataPreProcessor`` up in its
    own registry and fail)."""
    from mmengine.registry import DefaultScope
    if DefaultScope.get_current_instance() is not None:
        return contextlib.nullcontext()
    return DefaultScope.overwrite_default_scope('mmseg')

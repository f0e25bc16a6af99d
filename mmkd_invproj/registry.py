# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Registries used by mmkd-invproj.

Every module of this package registers into MMSegmentation's registries, so a
config with ``default_scope = 'mmseg'`` and
``custom_imports = dict(imports=['mmkd_invproj'], allow_failed_imports=False)``
finds ``CrossTaskDistiller``, ``InvertedProjector``, ``FitNetsLoss`` ... by their
bare type names, next to MMSeg's own models. An existing MMSeg config keeps working
unchanged. The runner goes into MMEngine's root ``RUNNERS``, which
``tools/train.py`` builds ``runner_type`` from before any default scope is set.

The ``mmkd_invproj`` scope exists only so that configs inherited by package name
(``_base_ = ['mmkd_invproj::depth/...']``) build: MMEngine marks the dicts of such a
base with ``_scope_='mmkd_invproj'`` and then looks that scope up in each registry
tree. :data:`SCOPE_REGISTRIES` are empty children of MMSeg's registries with that
scope, so every lookup in it falls through to MMSeg and then MMEngine.
"""
from mmengine.registry import RUNNERS  # root registry: tools/train.py builds from it
from mmengine.registry import Registry
from mmseg.registry import (DATASETS, HOOKS, METRICS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS,
                            TRANSFORMS, VISUALIZERS)
from mmseg.registry import registry as _mmseg_registry

from .utils.config_package import CONFIG_SCOPE

#: the registry scope of this package: its config package prefix, ``'mmkd_invproj'``
SCOPE = CONFIG_SCOPE


def _scope_children() -> dict:
    """One empty ``mmkd_invproj`` child per MMSeg registry: {registry name: child}."""
    children = {}
    for parent in vars(_mmseg_registry).values():
        if not isinstance(parent, Registry) or parent.scope != 'mmseg':
            continue
        child = parent._children.get(SCOPE)
        if child is None:  # `locations`: MMEngine imports this package for the scope
            child = Registry(parent.name, parent=parent, scope=SCOPE, locations=[SCOPE])
        children[parent.name] = child
    return children


#: {registry name: the ``mmkd_invproj`` child of MMSeg's registry of that name}
SCOPE_REGISTRIES = _scope_children()

__all__ = ['MODELS', 'HOOKS', 'RUNNERS', 'VISUALIZERS', 'DATASETS', 'TRANSFORMS', 'METRICS',
           'OPTIM_WRAPPER_CONSTRUCTORS', 'SCOPE', 'SCOPE_REGISTRIES']

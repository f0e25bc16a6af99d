# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Registries used by mmkd-invproj.

Every module of this package registers into MMSegmentation's registries, so a
config with ``default_scope = 'mmseg'`` and
``custom_imports = dict(imports=['mmkd_invproj'], allow_failed_imports=False)``
finds ``CrossTaskDistiller``, ``InvertedProjector``, ``FitNetsLoss`` ... by their
bare type names, next to MMSeg's own models. There is deliberately no separate
scope: an existing MMSeg config keeps working unchanged. The runner goes into
MMEngine's root ``RUNNERS``, which ``tools/train.py`` builds ``runner_type`` from
before any default scope is set.
"""
from mmengine.registry import RUNNERS  # root registry: tools/train.py builds from it
from mmseg.registry import (DATASETS, HOOKS, METRICS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS,
                            TRANSFORMS)

__all__ = ['MODELS', 'HOOKS', 'RUNNERS', 'DATASETS', 'TRANSFORMS', 'METRICS',
           'OPTIM_WRAPPER_CONSTRUCTORS']

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""mmkd-invproj: cross-task knowledge distillation with the inverted projection.

Importing the package registers its modules in MMSegmentation's registries
(``CrossTaskDistiller``, ``InvertedProjector``, ``TraditionalProjector``,
``FitNetsLoss``, ``ScaleInvariantLogLoss``, the depth decoders, the teacher
builders, ``AtomicCheckpointRunner``) and allowlists MMEngine's checkpoint types
for ``torch.load(weights_only=True)`` so ``--resume`` works under torch >= 2.6.
It also lets MMEngine load this package's configs by name
(``_base_ = ['mmkd_invproj::depth/mbv2_cls_teacher_inv.py']``).
"""
from .utils.checkpoint_compat import register_mmengine_safe_globals
from .utils.config_package import register_config_package

register_mmengine_safe_globals()
register_config_package()  # `_base_ = ['mmkd_invproj::depth/...']` in any config

from . import (distillers, engine, hooks, losses, projectors, students, teachers,  # noqa: E402,F401
               visualization)
from .distillers import CrossTaskDistiller  # noqa: E402
from .losses import FitNetsLoss, ScaleInvariantLogLoss  # noqa: E402
from .projectors import InvertedProjector, TraditionalProjector  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = ['CrossTaskDistiller', 'InvertedProjector', 'TraditionalProjector', 'FitNetsLoss',
           'ScaleInvariantLogLoss', '__version__']

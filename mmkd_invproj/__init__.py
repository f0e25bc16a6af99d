# Copyright (c) mmkd-invproj authors. All rights reserved.
"""mmkd-invproj: cross-task knowledge distillation with the inverted projection.

Importing the package registers its modules in MMSegmentation's registries
(``CrossTaskDistiller``, ``InvertedProjector``, ``TraditionalProjector``,
``FitNetsLoss``, ``ScaleInvariantLogLoss``, the depth decoders, the teacher
builders, ``AtomicCheckpointRunner``), replaces MMSeg's ``DepthMetric`` and
loading transforms by subclasses that fix known failures of MMSeg 1.2.2 / MMCV 2.1
(:mod:`mmkd_invproj.evaluation`, :mod:`mmkd_invproj.datasets`) and allowlists
MMEngine's checkpoint types for ``torch.load(weights_only=True)`` so ``--resume``
works under torch >= 2.6.
"""
from .utils.checkpoint_compat import register_mmengine_safe_globals

register_mmengine_safe_globals()

from . import (datasets, distillers, engine, evaluation, hooks,  # noqa: E402,F401
               losses, projectors, students, teachers)
from .distillers import CrossTaskDistiller  # noqa: E402
from .losses import FitNetsLoss, ScaleInvariantLogLoss  # noqa: E402
from .projectors import InvertedProjector, TraditionalProjector  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = ['CrossTaskDistiller', 'InvertedProjector', 'TraditionalProjector', 'FitNetsLoss',
           'ScaleInvariantLogLoss', '__version__']

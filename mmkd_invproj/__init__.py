# Copyright (c) mmkd-invproj authors. All rights reserved.
"""mmkd-invproj: cross-task knowledge distillation with the inverted projection.

Importing the package registers its modules in MMSegmentation's registries
(``CrossTaskDistiller``, ``FrozenTeacher``, the projectors, losses, depth decoders,
teacher builders and ``AtomicCheckpointRunner``); it changes nothing else in the
process.
"""
from . import distillers, engine, hooks, losses, projectors, students, teachers  # noqa: F401
from .distillers import CrossTaskDistiller, DistillPairs
from .losses import FitNetsLoss, ScaleInvariantLogLoss
from .projectors import InvertedProjector, TraditionalProjector
from .teachers import FrozenTeacher
from .version import __version__

__all__ = ['CrossTaskDistiller', 'DistillPairs', 'FrozenTeacher', 'InvertedProjector',
           'TraditionalProjector', 'FitNetsLoss', 'ScaleInvariantLogLoss', '__version__']

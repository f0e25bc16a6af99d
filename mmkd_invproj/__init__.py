# Copyright (c) mmkd-invproj authors. All rights reserved.
"""mmkd-invproj: cross-task knowledge distillation with the inverted projection.

Importing the package registers its modules in MMSegmentation's registries
(``CrossTaskDistiller``, ``FrozenTeacher``, the projectors, losses, depth decoders,
teacher builders, ``AtomicCheckpointRunner``, the image-translation students
``Pix2Pix`` and ``CycleGAN`` with their networks, data, metrics and hooks), replaces
MMSeg's ``DepthMetric`` and loading transforms by subclasses that fix known failures
of MMSeg 1.2.2 / MMCV 2.1 (:mod:`mmkd_invproj.evaluation`, :mod:`mmkd_invproj.datasets`)
and lets MMEngine load this package's configs by name
(``_base_ = ['mmkd_invproj::depth/mbv2_cls_teacher_inv.py']``). It leaves torch's
unpickling allowlist alone (see ``AtomicCheckpointRunner``).
"""
from .utils.config_package import register_config_package

register_config_package()  # `_base_ = ['mmkd_invproj::depth/...']` in any config

from . import (datasets, distillers, engine, evaluation, hooks, losses,  # noqa: E402,F401
               projectors, students, teachers, translation, visualization)
from .distillers import CrossTaskDistiller, DistillPairs  # noqa: E402
from .losses import FitNetsLoss, ScaleInvariantLogLoss  # noqa: E402
from .projectors import InvertedProjector, TraditionalProjector  # noqa: E402
from .teachers import FrozenTeacher  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = ['CrossTaskDistiller', 'DistillPairs', 'FrozenTeacher', 'InvertedProjector',
           'TraditionalProjector', 'FitNetsLoss', 'ScaleInvariantLogLoss', '__version__']

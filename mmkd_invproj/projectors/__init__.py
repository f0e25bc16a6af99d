# Copyright (c) mmkd-invproj authors. All rights reserved.
from .base import BaseProjector
from .ensemble import EnsembleProjector
from .inverted import InvertedProjector
from .traditional import TraditionalProjector

__all__ = ['BaseProjector', 'InvertedProjector', 'TraditionalProjector', 'EnsembleProjector']

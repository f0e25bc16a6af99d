# Copyright (c) mmkd-invproj authors. All rights reserved.
from .cross_task_distiller import CrossTaskDistiller
from .pairs import DistillPairs, PairOutput

__all__ = ['CrossTaskDistiller', 'DistillPairs', 'PairOutput']

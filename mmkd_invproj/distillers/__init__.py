# Copyright (c) mmkd-invproj authors. All rights reserved.
from .cross_task_distiller import CrossTaskDistiller
from .pairs import DistillPairs, PairOutput
from .teacher_holder import TeacherHolderMixin

__all__ = ['CrossTaskDistiller', 'DistillPairs', 'PairOutput', 'TeacherHolderMixin']

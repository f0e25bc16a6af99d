# Copyright (c) mmkd-invproj authors. All rights reserved.
from .cross_task_distiller import CrossTaskDistiller

__all__ = ['CrossTaskDistiller']

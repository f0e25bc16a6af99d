# Copyright (c) mmkd-invproj authors. All rights reserved.
from .depth_metric import DepthMetric

__all__ = ['DepthMetric']

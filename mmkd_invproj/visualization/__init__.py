# Copyright (c) mmkd-invproj authors. All rights reserved.
from .depth import colorize, depth_panel, depth_range
from .visualizer import DepthPanelVisualizer

__all__ = ['colorize', 'depth_panel', 'depth_range', 'DepthPanelVisualizer']

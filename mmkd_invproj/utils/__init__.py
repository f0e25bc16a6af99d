# Copyright (c) mmkd-invproj authors. All rights reserved.
from .checkpoint_compat import register_mmengine_safe_globals
from .feature_maps import match_spatial_size, tokens_to_map
from .launch import setup_cpu_distributed, teardown_distributed

__all__ = ['register_mmengine_safe_globals', 'tokens_to_map', 'match_spatial_size',
           'setup_cpu_distributed', 'teardown_distributed']

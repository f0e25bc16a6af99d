# Copyright (c) mmkd-invproj authors. All rights reserved.
from .checkpoint_compat import mmengine_checkpoint_globals
from .feature_maps import infer_patch_size, match_spatial_size, to_feature_map, tokens_to_map
from .launch import setup_cpu_distributed, teardown_distributed
from .model_wrappers import unwrap_model, unwrap_student

__all__ = ['mmengine_checkpoint_globals', 'tokens_to_map', 'to_feature_map', 'infer_patch_size',
           'match_spatial_size', 'setup_cpu_distributed', 'teardown_distributed', 'unwrap_model',
           'unwrap_student']

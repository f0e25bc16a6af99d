# Copyright (c) mmkd-invproj authors. All rights reserved.
from .ait_swinv2 import AiTSwinV2, ait_swinv2_state_dict_keys
from .builders import build_timm_teacher, build_torchvision_teacher
from .frozen import FrozenTeacher, build_teachers, feature_key
from .loading import load_teacher_checkpoint

__all__ = ['FrozenTeacher', 'build_teachers', 'feature_key', 'build_torchvision_teacher',
           'build_timm_teacher', 'load_teacher_checkpoint', 'AiTSwinV2',
           'ait_swinv2_state_dict_keys']

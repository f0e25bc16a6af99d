# Copyright (c) mmkd-invproj authors. All rights reserved.
from .feature_recorder import FeatureRecorder, TeacherEarlyExit, UnknownModuleError
from .num_classes_check import SegNumClassesCheckHook
from .projector_spectrum import ProjectorSpectrumHook

__all__ = ['FeatureRecorder', 'TeacherEarlyExit', 'UnknownModuleError', 'ProjectorSpectrumHook',
           'SegNumClassesCheckHook']

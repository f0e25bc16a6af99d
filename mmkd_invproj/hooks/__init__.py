# Copyright (c) mmkd-invproj authors. All rights reserved.
from .feature_recorder import FeatureRecorder, TeacherEarlyExit, UnknownModuleError
from .projector_spectrum import ProjectorSpectrumHook

__all__ = ['FeatureRecorder', 'TeacherEarlyExit', 'UnknownModuleError', 'ProjectorSpectrumHook']

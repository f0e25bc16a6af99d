# Copyright (c) mmkd-invproj authors. All rights reserved.
from .annotation_check import TrainAnnotationCheckHook
from .feature_recorder import FeatureRecorder, TeacherEarlyExit, UnknownModuleError
from .finite_loss import FiniteLossHook, NonFiniteLossError
from .num_classes_check import SegNumClassesCheckHook
from .projector_spectrum import ProjectorSpectrumHook

__all__ = ['FeatureRecorder', 'TeacherEarlyExit', 'UnknownModuleError', 'ProjectorSpectrumHook',
           'SegNumClassesCheckHook', 'FiniteLossHook', 'NonFiniteLossError',
           'TrainAnnotationCheckHook']

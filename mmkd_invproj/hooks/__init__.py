# Copyright (c) mmkd-invproj authors. All rights reserved.
from .annotation_check import TrainAnnotationCheckHook
from .feature_recorder import (FeatureModifiedError, FeatureRecorder, TeacherEarlyExit,
                               UnknownModuleError)
from .finite_loss import FiniteLossHook, NonFiniteLossError
from .num_classes_check import SegNumClassesCheckHook
from .prediction_visualization import PredictionVisualizationHook, enable_test_drawing
from .projector_spectrum import ProjectorSpectrumHook

__all__ = ['FeatureRecorder', 'FeatureModifiedError', 'TeacherEarlyExit', 'UnknownModuleError',
           'ProjectorSpectrumHook', 'SegNumClassesCheckHook', 'PredictionVisualizationHook',
           'enable_test_drawing', 'FiniteLossHook', 'NonFiniteLossError',
           'TrainAnnotationCheckHook']

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Using trained models: loading checkpoints, inference on images and videos."""
from .checkpoint import (export_student, extract_generator_state_dict,
                         extract_student_state_dict, load_weights)
from .inference import (PredictionWriter, build_inference_pipeline, init_student,
                        iter_inputs, predict)

__all__ = ['export_student', 'extract_generator_state_dict', 'extract_student_state_dict',
           'load_weights', 'PredictionWriter',
           'build_inference_pipeline', 'init_student', 'iter_inputs', 'predict']

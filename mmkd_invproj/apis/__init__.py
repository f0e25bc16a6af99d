# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Using trained models: loading checkpoints."""
from .checkpoint import extract_student_state_dict, load_weights

__all__ = ['extract_student_state_dict', 'load_weights']

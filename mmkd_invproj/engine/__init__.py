# Copyright (c) mmkd-invproj authors. All rights reserved.
from .runner import AtomicCheckpointRunner

__all__ = ['AtomicCheckpointRunner']

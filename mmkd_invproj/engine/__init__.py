# Copyright (c) mmkd-invproj authors. All rights reserved.
from .amp import AnyDeviceAmpOptimWrapper, amp_optim_wrapper_type
from .runner import AtomicCheckpointRunner

__all__ = ['AtomicCheckpointRunner', 'AnyDeviceAmpOptimWrapper', 'amp_optim_wrapper_type']

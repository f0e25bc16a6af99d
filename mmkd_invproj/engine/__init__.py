# Copyright (c) mmkd-invproj authors. All rights reserved.
from .amp import AnyDeviceAmpOptimWrapper, amp_optim_wrapper_type
from .reliability import RELIABILITY_HOOKS, register_reliability_hooks
from .runner import AtomicCheckpointRunner

__all__ = ['AtomicCheckpointRunner', 'AnyDeviceAmpOptimWrapper', 'amp_optim_wrapper_type',
           'RELIABILITY_HOOKS', 'register_reliability_hooks']

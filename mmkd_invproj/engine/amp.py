# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Mixed-precision training that also runs on a CPU.

MMEngine 0.10.7's ``AmpOptimWrapper`` asserts that a CUDA/NPU/MLU/MUSA device is
available in its ``__init__`` (``'AmpOptimizerWrapper is only available training on
gpu, npu, mlu or musa'``), although its ``optim_context`` goes through
``mmengine.runner.amp.autocast``, which on a CPU enters
``torch.autocast('cpu', dtype=torch.bfloat16)`` (bfloat16 is the only dtype it
accepts there). :class:`AnyDeviceAmpOptimWrapper` removes that assertion and nothing
else on a CPU; on an accelerator it *is* ``AmpOptimWrapper``.
"""
from typing import Union

import torch
from mmengine.device import (is_cuda_available, is_mlu_available, is_musa_available,
                             is_npu_available)
from mmengine.optim import AmpOptimWrapper, OptimWrapper
# mmseg's child registry: found by bare name under ``default_scope='mmseg'``
from mmseg.registry import OPTIM_WRAPPERS

__all__ = ['AnyDeviceAmpOptimWrapper', 'amp_optim_wrapper_type']


def _accelerator_available() -> bool:
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def amp_optim_wrapper_type() -> str:
    """The optimizer-wrapper type ``--amp`` selects on this machine.

    Returns:
        str: ``'AmpOptimWrapper'`` (MMEngine's) when an accelerator is available,
        else ``'AnyDeviceAmpOptimWrapper'`` (bfloat16 autocast on the CPU).
    """
    return 'AmpOptimWrapper' if _accelerator_available() else 'AnyDeviceAmpOptimWrapper'


@OPTIM_WRAPPERS.register_module()
class AnyDeviceAmpOptimWrapper(AmpOptimWrapper):
    """MMEngine's ``AmpOptimWrapper``, usable on a CPU as well.

    On a CUDA/NPU/MLU/MUSA device it is exactly ``AmpOptimWrapper`` (autocast in
    ``dtype``, float16 by default, with a dynamic ``GradScaler``). On a CPU:

    * the forward (``optim_context``) runs under
      ``torch.autocast('cpu', dtype=torch.bfloat16)`` through MMEngine's own
      ``autocast``: convolutions and matrix products in bfloat16, the ops on
      PyTorch's CPU float32 list (losses such as ``mse_loss``, norms, softmax) in
      float32;
    * there is no loss scaling: bfloat16 has float32's 8-bit exponent, so the
      gradients do not underflow the way float16 ones do (the reason float16
      needs a scaler). ``loss_scaler`` is a disabled ``torch.amp.GradScaler``
      (``scale`` returns the loss unchanged, ``step`` calls the optimizer, its
      ``state_dict`` is empty), ``loss_scale`` is ignored.

    Args:
        loss_scale (float | str | dict): As in ``AmpOptimWrapper``; ignored on a
            CPU. Defaults to ``'dynamic'``.
        dtype (str | torch.dtype, optional): Autocast dtype. On a CPU only None or
            bfloat16. Defaults to None (float16 on CUDA, bfloat16 on a CPU).
        use_fsdp (bool): As in ``AmpOptimWrapper``; must be False on a CPU.
        **kwargs: ``OptimWrapper`` arguments (``optimizer``, ``clip_grad``,
            ``accumulative_counts``).

    Raises:
        ValueError: on a CPU, for a ``dtype`` other than None/bfloat16 or for
            ``use_fsdp=True`` (the message says what to set instead).
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype, None] = None,
                 use_fsdp: bool = False,
                 **kwargs) -> None:
        if _accelerator_available():
            super().__init__(loss_scale=loss_scale, dtype=dtype, use_fsdp=use_fsdp, **kwargs)
            return
        if isinstance(dtype, str):
            if dtype not in self.valid_dtypes:
                raise ValueError(f'dtype must be one of {self.valid_dtypes} (or None), got '
                                 f'{dtype!r}')
            dtype = getattr(torch, dtype)
        if dtype not in (None, torch.bfloat16):
            raise ValueError(f'CPU autocast supports only bfloat16, got dtype={dtype}; set '
                             "optim_wrapper.dtype='bfloat16' (or None) for CPU training")
        if use_fsdp:
            raise ValueError('use_fsdp=True needs a GPU; set optim_wrapper.use_fsdp=False')
        OptimWrapper.__init__(self, **kwargs)  # skips AmpOptimWrapper's accelerator assert
        self._scale_update_param = None
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)
        self.cast_dtype = torch.bfloat16

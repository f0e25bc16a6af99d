# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The losses' float32 policy under mixed precision."""
import contextlib
import functools
from typing import Callable

import torch
from torch.utils._pytree import tree_map


def _upcast(x):
    if torch.is_tensor(x) and x.dtype in (torch.float16, torch.bfloat16):
        return x.float()
    return x


def float32_loss(forward: Callable) -> Callable:
    """Decorator: compute a loss in float32, whatever the caller's precision.

    Under ``--amp`` (``torch.autocast`` on a GPU, bfloat16 autocast on a CPU) a
    matrix product inside a loss (PKT's cosine kernel, the spectral Gram matrix)
    would run in half precision and lose the small terms. The wrapped function sees
    every half-precision tensor argument upcast to float32, once, and autocast
    switched off for the devices of its tensor arguments. Outside autocast and with
    float32 inputs it changes nothing.

    It decorates the public loss functions (``pkt_loss``, ``at_loss``,
    ``attention_map``, ``scale_invariant_log_loss``, ``spectral_residual``), so they
    keep this promise when called directly, and the loss modules' ``forward`` that
    compute something themselves (``FitNetsLoss``, ``SpectralLoss``); a ``forward``
    that passes its inputs straight to a decorated function needs nothing more.

    Args:
        forward (Callable): A loss function or an ``nn.Module.forward``.

    Returns:
        Callable: The wrapper (``functools.wraps``; the original is ``__wrapped__``).
    """

    @functools.wraps(forward)
    def wrapper(*args, **kwargs):
        args, kwargs = tree_map(_upcast, (args, kwargs))
        devices = {a.device.type for a in list(args) + list(kwargs.values())
                   if torch.is_tensor(a)}
        with contextlib.ExitStack() as stack:
            for device_type in sorted(devices):
                if torch.is_autocast_enabled(device_type):
                    stack.enter_context(torch.autocast(device_type, enabled=False))
            return forward(*args, **kwargs)

    return wrapper

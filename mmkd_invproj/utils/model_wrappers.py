# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The model inside MMEngine's / PyTorch's model wrappers, and a distiller's student."""
import torch.nn as nn
from mmengine.model import is_model_wrapper

__all__ = ['unwrap_model', 'unwrap_student']


def unwrap_model(model: nn.Module) -> nn.Module:
    """Strip every model wrapper (DDP, FSDP, ``MMDistributedDataParallel``, ...).

    A wrapper is what MMEngine's ``is_model_wrapper`` recognises: a module of a type
    registered in ``MODEL_WRAPPERS`` (PyTorch's ``DataParallel`` /
    ``DistributedDataParallel`` / FSDP and MMEngine's own wrappers); its ``.module``
    is followed until a bare model is left. Any other module is returned as is, even
    one with a submodule named ``module``.

    Args:
        model (nn.Module): A model, possibly wrapped (several times).

    Returns:
        nn.Module: The innermost wrapped model (``model`` itself when unwrapped).
    """
    while is_model_wrapper(model):
        model = model.module
    return model


def unwrap_student(model: nn.Module) -> nn.Module:
    """The network a training check should inspect: the ``student`` of a
    ``CrossTaskDistiller`` (or any holder with a ``student`` attribute), else the
    model itself, wrappers stripped first (:func:`unwrap_model`).

    Args:
        model (nn.Module): A model, a distiller, or a wrapper around either.

    Returns:
        nn.Module: ``unwrap_model(model).student`` when it exists, else
        ``unwrap_model(model)``.
    """
    model = unwrap_model(model)
    return getattr(model, 'student', model)

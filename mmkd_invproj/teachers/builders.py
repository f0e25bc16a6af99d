# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Teacher builders registered in the MODELS registry.

A teacher config is any MODELS config: an MMSeg/MMDet backbone (``type='ResNetV1c'``
...), or one of the builders below, which return the library's *own* module, so hook
names are exactly torchvision's / timm's module names (``'encoder'``,
``'features.18'``, ``'layer4'``).
"""
import os.path as osp
from typing import Optional

import torch.nn as nn

from ..registry import MODELS


def _weights_file_hint(weights) -> str:
    import torch
    fname = osp.basename(weights.url)
    return osp.join(torch.hub.get_dir(), 'checkpoints', fname)


@MODELS.register_module(name='TorchvisionTeacher')
def build_torchvision_teacher(model_name: str, weights: Optional[str] = None,
                              **kwargs) -> nn.Module:
    """Build a torchvision model as a teacher, through torchvision's weights API.

    torchvision's ViTs (``vit_b_16`` ...) take only their ``image_size`` (224 x 224):
    give the distiller ``teacher_input_size=(224, 224)`` (as
    ``configs/_base_/teachers/vit_b16_cls.py`` does); CNNs take any size.

    Args:
        model_name (str): A name of ``torchvision.models.list_models()`` (classification,
            segmentation or detection), e.g. ``'vit_b_16'``, ``'resnet50'``,
            ``'mobilenet_v2'``, ``'deeplabv3_resnet50'``.
        weights (str, optional): A weights enum name such as ``'IMAGENET1K_V1'`` or
            ``'DEFAULT'``; None builds a randomly initialised model (Table 7 teacher).
            The file is taken from torch hub's cache
            (``$TORCH_HOME/hub/checkpoints/``) or downloaded there.
        **kwargs: Passed to the torchvision model builder (e.g. ``aux_loss=False``).

    Returns:
        nn.Module: the torchvision model itself (hook names are torchvision's).

    Raises:
        ValueError: for an unknown model name (lists close names) or weights name.
        RuntimeError: when the weights are not cached and cannot be downloaded; the
            message gives the cache path to copy the file to.
    """
    import difflib

    import torchvision
    names = torchvision.models.list_models()
    if model_name not in names:
        raise ValueError(f'unknown torchvision model {model_name!r}; close names: '
                         f'{difflib.get_close_matches(model_name, names, n=5)}')
    weights_obj = None
    if weights is not None:
        enum = torchvision.models.get_model_weights(model_name)
        try:
            weights_obj = enum.DEFAULT if weights == 'DEFAULT' else enum[weights]
        except KeyError:
            valid = [w.name for w in enum]
            raise ValueError(f'unknown weights {weights!r} for {model_name}; valid: '
                             f'{valid + ["DEFAULT"]}') from None
    try:
        model = torchvision.models.get_model(model_name, weights=weights_obj, **kwargs)
    except Exception as e:  # download errors differ by platform
        if weights_obj is None or osp.isfile(_weights_file_hint(weights_obj)):
            raise
        cached = _weights_file_hint(weights_obj)
        raise RuntimeError(
            f'could not obtain torchvision weights {model_name}.{weights_obj.name} '
            f'({type(e).__name__}: {e}). On an offline machine copy '
            f'{osp.basename(cached)} to {cached}, or set weights=None and '
            'teacher_ckpt=<local file>.') from e
    return model


@MODELS.register_module(name='TimmTeacher')
def build_timm_teacher(model_name: str, pretrained: bool = False,
                       dynamic_img_size: Optional[bool] = None,
                       **kwargs) -> nn.Module:
    """Build a timm model as a teacher.

    A timm ViT (``vit_*``, ``deit_*``, ``eva*``, Swin ...) has a position embedding for
    one input size (224 x 224 for ``vit_tiny_patch16_224``) and refuses any other.
    The distiller's build-time dry run uses ``infer_input_size`` and training the
    student's crops, so by default such a model is built with timm's
    ``dynamic_img_size=True``: the embedding is resampled to each input's patch grid
    and the teacher takes the crops as they are (its tokens become a (B, C, H/p, W/p)
    map for that grid, see :func:`~mmkd_invproj.utils.feature_maps.tokens_to_map`).

    Args:
        model_name (str): A ``timm.list_models()`` name, e.g. ``'vit_base_patch16_224'``,
            ``'resnet50'``.
        pretrained (bool): Load timm's pretrained weights (from the Hugging Face hub
            cache; offline: ``HF_HUB_OFFLINE=1`` with a populated cache).
        dynamic_img_size (bool, optional): Passed to timm. None (default): True for
            models that take it (ViT-like), unless ``img_size`` is given; a CNN does not
            take it and is built without. False keeps the fixed input size: then set
            the distiller's ``teacher_input_size`` to it.
        **kwargs: Passed to ``timm.create_model`` (e.g. ``features_only=True``,
            ``out_indices=(3,)``, ``img_size=(480, 640)``).

    Returns:
        nn.Module: the timm model itself (hook names are timm's: ``'blocks.11'``,
        ``'norm'``, ``'layer4'`` ...).

    Raises:
        ValueError: for an unknown model name (lists close names).
    """
    import difflib

    import timm
    if not timm.is_model(model_name):
        raise ValueError(f'unknown timm model {model_name!r}; close names: '
                         f'{difflib.get_close_matches(model_name, timm.list_models(), n=5)}')
    if dynamic_img_size is None and 'img_size' not in kwargs:
        try:  # a CNN refuses the argument in its constructor, before any weights load
            model = timm.create_model(model_name, pretrained=pretrained,
                                      dynamic_img_size=True, **kwargs)
        except TypeError as e:
            if 'dynamic_img_size' not in str(e):
                raise
            model = timm.create_model(model_name, pretrained=pretrained, **kwargs)
    else:
        if dynamic_img_size is not None:
            kwargs['dynamic_img_size'] = dynamic_img_size
        model = timm.create_model(model_name, pretrained=pretrained, **kwargs)
    return model

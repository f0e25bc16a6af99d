# Copyright (c) mmkd-invproj authors. All rights reserved.
"""A teacher built from another OpenMMLab package's config file.

``teacher=dict(cfg_path='mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py')`` takes the
``model`` of that config (MMDet's Mask R-CNN R50-FPN) and builds it in its own scope,
modelled on MMRazor's ``architecture=dict(cfg_path=..., pretrained=...)`` and
MMEngine's :func:`mmengine.hub.get_model`; MMEngine's :func:`mmengine.hub.get_config`
locates the file and its metafile weights. Unlike ``get_model`` it never calls
``register_all_modules()``, which would switch the process's default scope away from
'mmseg' under a running MMSeg Runner. The detector's ``data_preprocessor`` is built with it but
never used: :class:`CrossTaskDistiller` feeds the teacher the student's normalised
batch (``teacher_norm`` renormalises it when the detector expects other statistics).
"""
import os.path as osp
from typing import Optional, Tuple, Union

import torch.nn as nn
from mmengine.config import Config, ConfigDict

from ..registry import MODELS
from ..utils.scoped_build import build_in_scope


def load_external_config(cfg_path: str, pretrained: bool = False) -> Config:
    """Read ``'package::relative/path.py'`` (installed package) or a local file.

    Args:
        cfg_path (str): ``'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'`` or a path.
        pretrained (bool): Also look the config's weights URL up in its package's
            metafile (``cfg.model_path``).

    Returns:
        Config: the parsed config.

    Raises:
        FileNotFoundError: for a local path that does not exist, or a package config
            that is not shipped (the message says where it was looked for).
    """
    if '::' in cfg_path:
        from mmengine.hub import get_config
        try:
            return get_config(cfg_path, pretrained=pretrained)
        except (FileNotFoundError, AssertionError) as e:
            raise FileNotFoundError(
                f'teacher cfg_path "{cfg_path}": {e}. Package configs live in '
                '<package>/.mim/configs/ of the installed package.') from e
    if not osp.isfile(cfg_path):
        raise FileNotFoundError(f'teacher cfg_path "{cfg_path}" does not exist (absolute '
                                f'path: {osp.abspath(cfg_path)})')
    return Config.fromfile(cfg_path)


def build_teacher_from_cfg_path(cfg_path: str, pretrained: Union[bool, str] = False,
                                **overrides) -> Tuple[nn.Module, Optional[str]]:
    """Build the ``model`` of an OpenMMLab config file as a teacher network.

    Args:
        cfg_path (str): ``'<package>::<config path>'`` of an installed OpenMMLab
            package (``'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'``) or a local
            config file. The model is built in the package's scope (a local file: its
            ``default_scope``), so its backbone, neck and heads come from that package.
        pretrained (bool | str): True: the weights the package's metafile lists for
            this config; a str: that file or URL; False: none.
        **overrides: Merged into the config's ``model`` (MMEngine merge rules,
            ``_delete_`` works), e.g. ``backbone=dict(init_cfg=None)`` to skip the
            backbone's ImageNet initialisation when offline.

    Returns:
        tuple[nn.Module, str | None]: the network (e.g. ``mmdet.models.MaskRCNN``)
        and the weights to load into it (loaded by :class:`FrozenTeacher`).

    Raises:
        FileNotFoundError: the config does not exist.
        ValueError: the config has no ``model``.
        ScopeError: a type of the model is not registered in its scope.
    """
    cfg = load_external_config(cfg_path, pretrained=pretrained is True)
    if 'model' not in cfg:
        raise ValueError(f'teacher cfg_path "{cfg_path}" has no `model` entry')
    if overrides:
        cfg.merge_from_dict(dict(model=overrides))
    model_cfg = ConfigDict(cfg.model)
    scope = cfg_path.split('::', 1)[0] if '::' in cfg_path else cfg.get('default_scope')
    if scope and '_scope_' not in model_cfg:
        model_cfg['_scope_'] = scope
    network = build_in_scope(model_cfg, MODELS, role='teacher', default_scope=scope or 'mmseg')
    weights = cfg.get('model_path') if pretrained is True else (pretrained or None)
    return network, weights

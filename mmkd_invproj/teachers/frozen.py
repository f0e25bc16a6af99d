# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The frozen teacher: one network of another task, built, loaded, frozen and run
once per step up to the last feature anyone reads."""
import inspect
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..hooks.feature_recorder import FeatureRecorder, select_output
from ..registry import MODELS
from ..utils.feature_maps import infer_patch_size, to_feature_map
from ..utils.keys import unknown_keys_message
from ..utils.scoped_build import build_in_scope, mmseg_default_scope
from .external import build_teacher_from_cfg_path
from .loading import load_teacher_checkpoint

#: values of ``dtype``
TEACHER_DTYPES = ('bfloat16', 'float16')


def parse_teacher_dtype(dtype: Optional[Union[str, torch.dtype]]) -> Optional[torch.dtype]:
    """``dtype`` as a ``torch.dtype`` (None stays None).

    Raises:
        ValueError: for anything but None, ``'bfloat16'``, ``'float16'`` (or the
            matching ``torch.dtype``); the message lists the valid values.
    """
    if dtype is None:
        return None
    name = str(dtype).replace('torch.', '')
    if name not in TEACHER_DTYPES:
        raise ValueError(f'the teacher dtype (`teacher_dtype`, or `dtype` of a FrozenTeacher) '
                         f'must be one of {TEACHER_DTYPES} or None, got {dtype!r}')
    return getattr(torch, name)


def feature_key(module: str, index: Optional[Union[int, str]] = None) -> str:
    """The key of a teacher feature in :meth:`FrozenTeacher.forward`'s output.

    Args:
        module (str): The teacher module's name, as in ``named_modules()``.
        index (int | str, optional): Item of the module's output (tuple/list position
            or dict key).

    Returns:
        str: ``module`` (``'layer4'``) without an index, ``'module[index]'``
        (``'neck[1]'``) with one.
    """
    return module if index is None else f'{module}[{index}]'


@MODELS.register_module()
class FrozenTeacher(nn.Module):
    """A frozen teacher network that any MMEngine model can hold.

    The network is built (under its own seed, without touching the global RNG),
    its weights loaded, optionally cast to half precision, frozen
    (``requires_grad=False``, kept in ``eval()`` by :meth:`train`, run under
    ``no_grad``) and left out of ``init_weights``. Its holder asks for features with
    :meth:`watch`; :meth:`forward` then runs the network once, stops after the last
    watched module (``early_exit``) and returns every watched feature as a float32
    (B, C, h, w) map: ViT tokens (B, prefix + h * w, C) are reshaped on the patch
    grid of the input the teacher actually saw, (B, C) vectors become 1x1 maps.

    Args:
        model (dict | nn.Module): The network: a MODELS config (``TorchvisionTeacher``,
            ``TimmTeacher``, ``AiTSwinV2``, an MMSeg backbone, ``'mmdet.ResNet'``),
            ``dict(cfg_path='mmdet::<config>.py', pretrained=True, **overrides)`` for
            the model of another OpenMMLab config, or a built module.
        checkpoint (str, optional): Weights file or URL, loaded after building: the
            documented way to give teacher weights (library-native options such as
            torchvision's ``weights=`` or timm's ``pretrained=`` also work).
        checkpoint_prefix (str, optional): Key prefix to select and strip, e.g.
            ``'backbone.'``.
        strict (bool): Fail on missing or unexpected keys. Defaults to False.
        seed (int, optional): Seed of the random initialisation (a random teacher,
            Table 7).
        norm (dict, optional): ``dict(mean=[...], std=[...])`` (0-255 scale) the
            network expects. The holder's normalisation (:meth:`set_input_norm`) is
            undone and this one applied. None: the network sees the holder's batch.
        input_size (tuple[int, int], optional): (H, W) in pixels the input is
            resized to (bilinear), e.g. (224, 224) for a ViT with a fixed position
            embedding. None: the holder's size.
        dtype (str, optional): ``'bfloat16'`` or ``'float16'``: weights and input in
            that precision (half the weight memory); features come out in float32.
        method (str): The network method called with the batch (``'forward'``;
            ``'extract_feat'`` for an MMDet detector).
        early_exit (bool): Stop the forward after the last watched module.
            Defaults to True.
        patch_size (int, optional): Patch size in pixels for token outputs; None:
            read from the network (torchvision's and timm's ViTs).

    Raises:
        ValueError: for an unknown ``dtype``, a ``method`` the network lacks, or a
            ``norm`` without the holder's normalisation.
        FileNotFoundError / KeyError / RuntimeError: from
            :func:`~mmkd_invproj.teachers.load_teacher_checkpoint`.
    """

    def __init__(self,
                 model: Union[dict, nn.Module],
                 checkpoint: Optional[str] = None,
                 checkpoint_prefix: Optional[str] = None,
                 strict: bool = False,
                 seed: Optional[int] = None,
                 norm: Optional[dict] = None,
                 input_size: Optional[Sequence[int]] = None,
                 dtype: Optional[str] = None,
                 method: str = 'forward',
                 early_exit: bool = True,
                 patch_size: Optional[int] = None) -> None:
        super().__init__()
        self.dtype = parse_teacher_dtype(dtype)
        self.input_size = tuple(input_size) if input_size else None
        self.method = method
        self.norm = norm
        network, weights = self._build(model, seed)
        checkpoint = checkpoint or weights
        if checkpoint is not None:
            load_teacher_checkpoint(network, checkpoint, checkpoint_prefix, strict=strict)
        if self.dtype is not None:  # once, after the weights are loaded
            network.to(dtype=self.dtype)
        network.requires_grad_(False)
        network.eval()
        self.network = network
        if not callable(getattr(network, method, None)):
            raise ValueError(f'teacher {type(network).__name__} has no method "{method}"; '
                             'set `method` (e.g. "extract_feat" for an MMDet detector)')
        self.patch_size = patch_size or infer_patch_size(network)
        self._recorder = FeatureRecorder(network, [], role='teacher', early_exit=early_exit)
        self._watched: Dict[str, Tuple[str, Optional[Union[int, str]]]] = {}
        self.register_buffer('_scale', torch.ones(3, 1, 1), persistent=False)
        self.register_buffer('_shift', torch.zeros(3, 1, 1), persistent=False)
        self._renormalize = False

    @staticmethod
    def _build(cfg, seed: Optional[int]) -> Tuple[nn.Module, Optional[str]]:
        weights = None
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            with mmseg_default_scope():
                if isinstance(cfg, nn.Module):
                    network = cfg
                elif 'cfg_path' in cfg:  # another OpenMMLab package's config file
                    network, weights = build_teacher_from_cfg_path(**cfg)
                else:  # 'mmdet.X' builds in the mmdet scope
                    network = build_in_scope(cfg, MODELS, role='teacher')
            if hasattr(network, 'init_weights') and weights is None:
                network.init_weights()
        return network, weights

    @property
    def early_exit(self) -> bool:
        """Whether :meth:`forward` stops after the last watched module."""
        return self._recorder.early_exit

    @early_exit.setter
    def early_exit(self, value: bool) -> None:
        self._recorder.early_exit = bool(value)

    @property
    def watched(self) -> List[str]:
        """Keys of the features :meth:`forward` returns."""
        return list(self._watched)

    def watch(self, module: str, index: Optional[Union[int, str]] = None) -> str:
        """Ask for the output of ``module`` (item ``index`` of it) in :meth:`forward`.

        Args:
            module (str): A module of the network, as in ``network.named_modules()``.
            index (int | str, optional): Item of its output (tuple/list position or
                dict key); None: the whole output.

        Returns:
            str: the key of that feature in :meth:`forward`'s dict
            (:func:`feature_key`).

        Raises:
            UnknownModuleError: (a ``KeyError``) for an unknown module name; the
                message lists close names.
        """
        self._recorder.add(module)
        key = feature_key(module, index)
        self._watched[key] = (module, index)
        return key

    def set_input_norm(self, mean: Sequence[float], std: Sequence[float]) -> None:
        """Declare the normalisation of the batches the holder passes: with ``norm``
        set, ``x_t = (x * std + mean - norm.mean) / norm.std`` is what the network
        sees; without ``norm`` this is a no-op.

        Args:
            mean (Sequence[float]): The holder's per-channel mean (3 values, RGB,
                0-255 scale), e.g. its data preprocessor's ``mean``.
            std (Sequence[float]): The holder's per-channel std (3 values, 0-255
                scale).
        """
        if self.norm is None:
            return
        mean = torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1, 1)
        std = torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1, 1)
        t_mean = torch.as_tensor(self.norm['mean'], dtype=torch.float32).reshape(-1, 1, 1)
        t_std = torch.as_tensor(self.norm['std'], dtype=torch.float32).reshape(-1, 1, 1)
        self._scale = (std / t_std).to(self._scale.device)
        self._shift = ((mean - t_mean) / t_std).to(self._shift.device)
        self._renormalize = True

    def prepare(self, inputs: Tensor) -> Tensor:
        """The batch the network sees: renormalised, resized, cast.

        Args:
            inputs (Tensor): The holder's batch (B, 3, H, W).

        Returns:
            Tensor: (B, 3, H_t, W_t) in the teacher's dtype.

        Raises:
            ValueError: when ``norm`` is set but the holder never called
                :meth:`set_input_norm`.
        """
        x = inputs
        if self.norm is not None:
            if not self._renormalize:
                raise ValueError('FrozenTeacher(norm=...) needs the normalisation of the '
                                 'batch it is given: its holder must call set_input_norm()')
            x = x * self._scale + self._shift
        if self.input_size is not None and tuple(x.shape[-2:]) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode='bilinear', align_corners=False)
        return x if self.dtype is None else x.to(self.dtype)

    @torch.no_grad()
    def forward(self, inputs: Tensor) -> Dict[str, Tensor]:
        """Run the network once and return the watched features.

        Args:
            inputs (Tensor): The holder's batch (B, 3, H, W).

        Returns:
            dict[str, Tensor]: ``{key: (B, C, h, w) float32 map}`` for every
            :meth:`watch` key.
        """
        x = self.prepare(inputs)
        self.network.eval()
        self._recorder.run(getattr(self.network, self.method), x)
        out = {}
        for key, (module, index) in self._watched.items():
            feat = select_output(self._recorder.get(module), index)
            feat = to_feature_map(feat, x.shape[-2:], self.patch_size, role='teacher')
            out[key] = feat.float()
        self._recorder.clear()
        return out

    def remove_hooks(self) -> None:
        """Remove the hooks on the network (nothing is watched afterwards)."""
        self._recorder.remove()
        self._watched.clear()

    def train(self, mode: bool = True) -> 'FrozenTeacher':
        """The teacher stays in eval mode whatever ``mode`` is."""
        return super().train(False)

    def init_weights(self) -> None:
        """A no-op: the teacher was initialised and loaded when it was built."""


def build_teachers(teacher: Optional[Union[dict, nn.Module]] = None,
                   teachers: Optional[Mapping[str, dict]] = None,
                   **single: object) -> nn.ModuleDict:
    """The teachers of a distillation model, by name.

    Either one ``teacher`` (its network config, plus the single-teacher keywords of
    :data:`SINGLE_TEACHER_KEYS`; it is named ``'teacher'``), or
    ``teachers=dict(name=dict(model=..., checkpoint=..., ...))`` with
    :class:`FrozenTeacher`'s arguments, or neither.

    Args:
        teacher (dict | nn.Module, optional): The one teacher: its network (a
            :class:`FrozenTeacher` ``model``), or a built :class:`FrozenTeacher`.
        teachers (Mapping[str, dict], optional): ``{name: FrozenTeacher arguments}``
            (a ``type='FrozenTeacher'`` entry is accepted) or ``{name: FrozenTeacher}``.
        **single: The single-teacher keywords (``teacher_ckpt=...``,
            ``teacher_dtype=...``; :data:`SINGLE_TEACHER_KEYS`) of the one
            ``teacher``; None values are left out.

    Returns:
        nn.ModuleDict: name -> :class:`FrozenTeacher`.

    Raises:
        ValueError: for both forms at once. (Single-teacher keywords without a
            ``teacher`` are ignored, so ``model.teacher=None`` turns a config into its
            baseline.)
        TypeError: for an unknown keyword, or an unknown FrozenTeacher argument in
            ``teachers`` (the closest valid names listed).
    """
    message = unknown_keys_message(single, SINGLE_TEACHER_KEYS, 'unknown teacher arguments')
    if message:
        raise TypeError(message)
    given = {SINGLE_TEACHER_KEYS[k]: v for k, v in single.items() if v is not None}
    if teacher is not None and teachers:
        raise ValueError('give either `teacher` (one teacher) or `teachers` (several, by name), '
                         'not both')
    out = nn.ModuleDict()
    if teacher is not None:
        if isinstance(teacher, FrozenTeacher):
            out['teacher'] = teacher
        else:
            out['teacher'] = FrozenTeacher(teacher, **given)
    for name, cfg in (teachers or {}).items():
        if isinstance(cfg, nn.Module) and not isinstance(cfg, FrozenTeacher):
            raise TypeError(f'teachers["{name}"] must be a FrozenTeacher or its arguments')
        if isinstance(cfg, FrozenTeacher):
            out[name] = cfg
        else:
            cfg = dict(cfg)
            cfg.pop('type', None)  # dict(type='FrozenTeacher', ...) is accepted too
            message = unknown_keys_message(cfg, inspect.signature(FrozenTeacher).parameters,
                                           f'teachers["{name}"] has unknown arguments',
                                           'FrozenTeacher takes')
            if message:
                raise TypeError(message)
            out[name] = FrozenTeacher(**cfg)
    return out


#: single-teacher keywords of a distillation model -> FrozenTeacher arguments (the
#: keyword without its ``teacher_`` prefix; ``teacher_ckpt`` is ``checkpoint``)
SINGLE_TEACHER_KEYS = {
    'teacher_ckpt': 'checkpoint', 'teacher_ckpt_prefix': 'checkpoint_prefix',
    'teacher_ckpt_strict': 'strict', 'teacher_seed': 'seed', 'teacher_norm': 'norm',
    'teacher_input_size': 'input_size', 'teacher_dtype': 'dtype', 'teacher_method': 'method',
    'teacher_early_exit': 'early_exit', 'teacher_patch_size': 'patch_size'}

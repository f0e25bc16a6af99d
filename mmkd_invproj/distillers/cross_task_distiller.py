# Copyright (c) mmkd-invproj authors. All rights reserved.
"""CrossTaskDistiller: a student of any task, a frozen teacher of another, and the
feature pairs between them."""
import contextlib
import copy
import difflib
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModel
from torch import Tensor

from ..hooks.feature_recorder import FeatureRecorder
from ..projectors.base import BaseProjector
from ..registry import MODELS
from ..teachers.external import build_teacher_from_cfg_path
from ..teachers.loading import load_teacher_checkpoint
from ..utils.feature_maps import to_feature_map
from ..utils.num_classes import check_head_num_classes
from ..utils.scoped_build import build_in_scope

#: keys a ``distill_pairs`` entry may have
PAIR_KEYS = ('name', 'student', 'student_index', 'student_source', 'teacher', 'teacher_index',
             'projector', 'loss')
#: values of ``CrossTaskDistiller(teacher_dtype=...)``
TEACHER_DTYPES = ('bfloat16', 'float16')


def parse_teacher_dtype(
        teacher_dtype: Optional[Union[str, torch.dtype]]) -> Optional[torch.dtype]:
    """``teacher_dtype`` as a ``torch.dtype`` (None stays None).

    Raises:
        ValueError: for anything but None, ``'bfloat16'``, ``'float16'`` (or the
            matching ``torch.dtype``); the message lists the valid values.
    """
    if teacher_dtype is None:
        return None
    name = str(teacher_dtype).replace('torch.', '')
    if name not in TEACHER_DTYPES:
        raise ValueError(f'teacher_dtype must be one of {TEACHER_DTYPES} or None, got '
                         f'{teacher_dtype!r}')
    return getattr(torch, name)


def _warn_preprocessor_mismatch(student, data_preprocessor) -> None:
    """Warn when the distiller's preprocessor config differs from the student's.

    MMEngine's Runner passes a config's top-level ``data_preprocessor`` to the model
    it builds, so in an MMSeg config (which keeps one beside ``model``) it replaces the
    student's: a child config that changes only ``model.student.data_preprocessor``
    (e.g. ``size``) is silently ignored.
    """
    if not (isinstance(student, dict) and isinstance(data_preprocessor, dict)
            and isinstance(student.get('data_preprocessor'), dict)):
        return
    own = {k: v for k, v in student['data_preprocessor'].items() if k != '_scope_'}
    given = {k: v for k, v in data_preprocessor.items() if k != '_scope_'}
    diff = {k: (own.get(k), given.get(k)) for k in sorted(set(own) | set(given))
            if own.get(k) != given.get(k)}
    if diff:
        print_log('CrossTaskDistiller uses the data_preprocessor passed to it (in a Runner: '
                  'the config\'s top-level `data_preprocessor`), which differs from the '
                  f'student\'s in {{key: (student, used)}} = {diff}. Change both together '
                  '(data_preprocessor = dict(...); model = dict(student=dict('
                  'data_preprocessor=data_preprocessor))).', logger='current', level=30)


def _mmseg_default_scope():
    """Build nested configs in the 'mmseg' scope when no default scope is set.

    Inside a Runner the config's ``default_scope`` applies; outside (a notebook, a
    test) MMEngine would otherwise look ``SegDataPreProcessor`` up in its own
    registry and fail.
    """
    from mmengine.registry import DefaultScope
    if DefaultScope.get_current_instance() is not None:
        return contextlib.nullcontext()
    return DefaultScope.overwrite_default_scope('mmseg')


class DistillPair:
    """One parsed ``distill_pairs`` entry (where to take the features, what to compare).

    Raises:
        ValueError: for unknown keys (lists the valid ones), a missing ``name``,
            ``student`` or ``loss``, or a projector without a teacher.
    """

    def __init__(self, cfg: dict, index: int) -> None:
        unknown = sorted(set(cfg) - set(PAIR_KEYS))
        if unknown:
            hints = {k: difflib.get_close_matches(k, PAIR_KEYS, n=1) for k in unknown}
            raise ValueError(f'distill_pairs[{index}] has unknown keys {unknown} '
                             f'(did you mean {hints}?); valid keys: {list(PAIR_KEYS)}')
        for key in ('name', 'student', 'loss'):
            if key not in cfg:
                raise ValueError(f'distill_pairs[{index}] needs a "{key}" entry; got {cfg}')
        self.name: str = cfg['name']
        self.student: str = cfg['student']
        self.student_index = cfg.get('student_index')
        self.student_source: str = cfg.get('student_source', 'output')
        self.teacher: Optional[str] = cfg.get('teacher')
        self.teacher_index = cfg.get('teacher_index')
        self.projector_cfg: Optional[dict] = copy.deepcopy(cfg.get('projector'))
        self.loss_cfg: dict = copy.deepcopy(cfg['loss'])
        if self.projector_cfg is not None and self.teacher is None:
            raise ValueError(f'distill_pairs[{index}] ("{self.name}") has a projector but no '
                             'teacher module; a teacher-free pair takes only a loss on the '
                             'student feature.')


@MODELS.register_module()
class CrossTaskDistiller(BaseModel):
    """Cross-task feature distillation from a frozen teacher into any MMSeg model.

    The student is any MMSeg model config (``DepthEstimator``, ``EncoderDecoder``)
    and keeps its own losses; each entry of ``distill_pairs`` adds one
    ``loss_distill_<name>`` term, computed from a student feature and a teacher
    feature captured by forward hooks, through a projector (``InvertedProjector``:
    teacher -> student space, Auty et al. BMVC 2024; ``TraditionalProjector``:
    student -> teacher space) and a loss (``FitNetsLoss`` ...). The total loss is
    ``L_task + sum_pairs L_distill`` (each weighted by its ``loss_weight``,
    supplementary 6.4). A pair without ``teacher`` applies its loss to the student
    feature alone (a teacher-free regulariser).

    The teacher is built, initialised, loaded and frozen inside ``__init__``,
    before any wrapper (DDP, AMP) sees it: ``requires_grad=False`` everywhere,
    ``eval()`` mode kept across ``model.train()``, forward under ``torch.no_grad``,
    excluded from :meth:`init_weights`. With ``teacher_early_exit`` its forward
    stops as soon as every hooked teacher module has produced its output.
    Validation, test and predict run the student alone; the student's data
    preprocessor is the distiller's.

    Args:
        student (dict): MMSeg model config of the student (with its
            ``data_preprocessor``).
        teacher (dict, optional): MODELS config of the teacher: an MMSeg/MMDet
            backbone, ``TorchvisionTeacher``, ``TimmTeacher``. None for teacher-free
            regularisation. A scoped type (``'mmdet.ResNet'``) is built entirely in
            that scope (``_scope_``). ``dict(cfg_path='mmdet::<config>.py',
            pretrained=True, **model_overrides)`` builds the ``model`` of another
            package's config file (:func:`build_teacher_from_cfg_path`).
        distill_pairs (Sequence[dict]): One dict per distilled pair with keys
            ``name`` (str, the loss is logged as ``loss_distill_<name>``),
            ``student`` (str, module name in the student), ``student_index``
            (int/str, picks one output of a module returning a tuple/dict),
            ``student_source`` ('output' or 'input' of that module), ``teacher``,
            ``teacher_index``, ``projector`` (dict, optional) and ``loss`` (dict).
        teacher_ckpt (str, optional): Weights for the teacher (local file or URL).
        teacher_ckpt_prefix (str, optional): Key prefix to select and strip, e.g.
            ``'backbone.'``.
        teacher_ckpt_strict (bool): Fail on missing/unexpected keys.
        teacher_seed (int, optional): Seed for the teacher's random initialisation
            (a randomly initialised teacher, Table 7), applied without disturbing
            the global RNG.
        teacher_input_size (tuple[int, int], optional): (H, W) in pixels the
            teacher's input is bilinearly resized to (e.g. (224, 224) for
            torchvision's ViT-B/16, whose position embedding has a fixed size).
        teacher_norm (dict, optional): ``dict(mean=[...], std=[...])`` on the 0-255
            scale the teacher expects. The student's normalisation is undone and
            this one applied. None: the teacher sees the student's normalised input
            (right for ImageNet-normalised students and torchvision teachers).
        teacher_method (str): Teacher method to call with the image batch
            (``'forward'``; ``'extract_feat'`` for an MMDet detector).
        teacher_early_exit (bool): Stop the teacher's forward after the last hooked
            module. Defaults to True.
        teacher_dtype (str, optional): ``'bfloat16'`` or ``'float16'``: cast the
            teacher's floating-point parameters and buffers to this dtype once,
            after its weights are loaded, and its input batch before every forward,
            halving its weight memory. Its features come out in that dtype and are
            upcast to float32 before the projectors and losses. None (default)
            keeps float32. On a CPU prefer bfloat16 (float16 kernels are slower or
            missing for some ops, depending on the torch build).
        infer_input_size (tuple[int, int]): (H, W) of the dummy input used to infer
            projector channels when a projector config leaves them out.
        data_preprocessor (dict, optional): Overrides the student's preprocessor.
        init_cfg (dict, optional): MMEngine init config of the distiller.

    Raises:
        ValueError: invalid pair config (unknown keys, duplicate names), or student
            heads with different ``num_classes`` (both numbers named).
        KeyError: a hooked module name that does not exist (close names listed); a
            ``ScopeError`` (a KeyError) for a type or scope that is not registered
            (names the scope and the ``custom_imports`` fix).
        TypeError: a projector config that does not build a ``BaseProjector``.
    """

    def __init__(self,
                 student: dict,
                 teacher: Optional[dict] = None,
                 distill_pairs: Sequence[dict] = (),
                 teacher_ckpt: Optional[str] = None,
                 teacher_ckpt_prefix: Optional[str] = None,
                 teacher_ckpt_strict: bool = False,
                 teacher_seed: Optional[int] = None,
                 teacher_input_size: Optional[Tuple[int, int]] = None,
                 teacher_norm: Optional[dict] = None,
                 teacher_method: str = 'forward',
                 teacher_early_exit: bool = True,
                 teacher_dtype: Optional[str] = None,
                 infer_input_size: Tuple[int, int] = (224, 224),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        with _mmseg_default_scope():
            student_model = (build_in_scope(student, MODELS, role='student')
                             if isinstance(student, dict) else student)
        check_head_num_classes(student_model)  # decode/auxiliary heads must agree
        _warn_preprocessor_mismatch(student, data_preprocessor)
        if data_preprocessor is None:
            data_preprocessor = student_model.data_preprocessor
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = student_model

        self.pairs: List[DistillPair] = [DistillPair(dict(p), i) for i, p in enumerate(distill_pairs)]
        names = [p.name for p in self.pairs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f'distill pair names must be unique, repeated: {dup}')
        teacher_pairs = [p for p in self.pairs if p.teacher is not None]
        if teacher_pairs and teacher is None:
            raise ValueError(f'pairs {[p.name for p in teacher_pairs]} name teacher modules '
                             'but no `teacher` is configured')

        self.teacher_input_size = tuple(teacher_input_size) if teacher_input_size else None
        self.teacher_method = teacher_method
        self.teacher_dtype = parse_teacher_dtype(teacher_dtype)
        self.infer_input_size = tuple(infer_input_size)
        self._set_teacher_norm(teacher_norm)
        self.teacher: Optional[nn.Module] = None
        if teacher is not None:
            self.teacher = self._build_teacher(teacher, teacher_ckpt, teacher_ckpt_prefix,
                                               teacher_ckpt_strict, teacher_seed)
            if not callable(getattr(self.teacher, teacher_method, None)):
                raise ValueError(f'teacher {type(self.teacher).__name__} has no method '
                                 f'"{teacher_method}" (teacher_method)')

        self.student_recorder = FeatureRecorder(
            self.student, [p.student for p in self.pairs], role='student',
            sources={p.student: p.student_source for p in self.pairs})
        self.teacher_recorder = None
        if self.teacher is not None and teacher_pairs:
            self.teacher_recorder = FeatureRecorder(
                self.teacher, [p.teacher for p in teacher_pairs], role='teacher',
                early_exit=teacher_early_exit)

        self.projectors = nn.ModuleDict()
        self.distill_losses = nn.ModuleDict()
        for pair in self.pairs:
            if pair.projector_cfg is not None:
                with _mmseg_default_scope():
                    projector = MODELS.build(pair.projector_cfg)
                if not isinstance(projector, BaseProjector):
                    raise TypeError(f'pair "{pair.name}": projector must build a BaseProjector '
                                    f'(InvertedProjector, TraditionalProjector), got '
                                    f'{type(projector).__name__}')
                self.projectors[pair.name] = projector
            with _mmseg_default_scope():
                self.distill_losses[pair.name] = MODELS.build(pair.loss_cfg)
        if any(not p.is_built for p in self.projectors.values()):
            self._infer_projector_channels()

    # ------------------------------------------------------------------ teacher
    def _build_teacher(self, cfg: dict, ckpt: Optional[str], prefix: Optional[str],
                       strict: bool, seed: Optional[int]) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            with _mmseg_default_scope():
                if isinstance(cfg, dict) and 'cfg_path' in cfg:  # another package's config
                    teacher = build_teacher_from_cfg_path(**cfg)
                elif isinstance(cfg, dict):  # 'mmdet.X' is built in the mmdet scope
                    teacher = build_in_scope(cfg, MODELS, role='teacher')
                else:
                    teacher = cfg
            # `_is_init`: weights already loaded (cfg_path + pretrained), keep them
            if hasattr(teacher, 'init_weights') and not getattr(teacher, '_is_init', False):
                teacher.init_weights()
        if ckpt is not None:
            load_teacher_checkpoint(teacher, ckpt, prefix, strict=strict)
        if self.teacher_dtype is not None:  # once, after the weights are loaded
            teacher.to(dtype=self.teacher_dtype)
        teacher.requires_grad_(False)
        teacher.eval()
        return teacher

    def _set_teacher_norm(self, teacher_norm: Optional[dict]) -> None:
        self.renormalize = teacher_norm is not None
        if not self.renormalize:
            return
        s_mean = getattr(self.data_preprocessor, 'mean', None)
        s_std = getattr(self.data_preprocessor, 'std', None)
        if s_mean is None or s_std is None:
            raise ValueError('teacher_norm needs the student preprocessor to normalise '
                             '(mean/std set) so its normalisation can be undone')
        t_mean = torch.tensor(teacher_norm['mean'], dtype=torch.float32).view(-1, 1, 1)
        t_std = torch.tensor(teacher_norm['std'], dtype=torch.float32).view(-1, 1, 1)
        # x_t = (x_s * std_s + mean_s - mean_t) / std_t  =  x_s * scale + shift
        self.register_buffer('teacher_scale', s_std.float() / t_std, persistent=False)
        self.register_buffer('teacher_shift', (s_mean.float() - t_mean) / t_std, persistent=False)

    def teacher_inputs(self, inputs: Tensor) -> Tensor:
        """The image batch the teacher sees: renormalised and resized if configured.

        Args:
            inputs (Tensor): Student inputs (B, 3, H, W) after the preprocessor.

        Returns:
            Tensor: (B, 3, H_t, W_t), in ``teacher_dtype`` when one is set.
        """
        x = inputs
        if self.renormalize:
            x = x * self.teacher_scale + self.teacher_shift
        if self.teacher_input_size is not None and tuple(x.shape[-2:]) != self.teacher_input_size:
            x = F.interpolate(x, size=self.teacher_input_size, mode='bilinear',
                              align_corners=False)
        if self.teacher_dtype is not None:
            x = x.to(self.teacher_dtype)
        return x

    @torch.no_grad()
    def run_teacher(self, inputs: Tensor) -> Tuple[int, int]:
        """Forward the frozen teacher (no grad, eval) and record its hooked features.

        Returns:
            tuple[int, int]: (H, W) in pixels of the teacher's input.
        """
        x = self.teacher_inputs(inputs)
        self.teacher.eval()
        self.teacher_recorder.run(getattr(self.teacher, self.teacher_method), x)
        return tuple(x.shape[-2:])

    # ------------------------------------------------------------------ features
    def _pair_features(self, pair: DistillPair) -> Tuple[Tensor, Optional[Tensor]]:
        s = self.student_recorder.get(pair.student, pair.student_index)
        t = None
        if pair.teacher is not None:
            t = self.teacher_recorder.get(pair.teacher, pair.teacher_index)
            if self.teacher_dtype is not None and torch.is_tensor(t):
                t = t.float()  # a half-precision teacher's feature, upcast once
        return s, t

    @torch.no_grad()
    def _infer_projector_channels(self) -> None:
        """Dry run on a dummy batch to learn feature channel counts for projectors."""
        x = torch.zeros(1, 3, *self.infer_input_size)
        was_training = self.student.training
        self.student.eval()
        try:
            with self.student_recorder:
                self.student._forward(x)
        finally:
            self.student.train(was_training)
        teacher_hw = self.run_teacher(x)
        for pair in self.pairs:
            projector = self.projectors[pair.name] if pair.name in self.projectors else None
            if projector is None or projector.is_built:
                continue
            s, t = self._pair_features(pair)
            s = to_feature_map(s, x.shape[-2:], projector.patch_size)
            t = to_feature_map(t, teacher_hw, projector.patch_size)
            projector.build(*projector.channels_for(s.shape[1], t.shape[1]))
            print_log(f'distill pair "{pair.name}": {type(projector).__name__} '
                      f'{projector.in_channels} -> {projector.out_channels} channels '
                      f'(student {tuple(s.shape[1:])}, teacher {tuple(t.shape[1:])})',
                      logger='current')

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> 'CrossTaskDistiller':
        """Set train/eval mode on the student and projectors; the teacher stays in eval."""
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self

    def init_weights(self) -> None:
        """Initialise the student and projectors only; the teacher was set up in ``__init__``."""
        if hasattr(self.student, 'init_weights'):
            self.student.init_weights()

    def distill_losses_from_features(self, inputs_hw: Sequence[int],
                                     teacher_hw: Optional[Sequence[int]]) -> Dict[str, Tensor]:
        """``loss_distill_<name>`` for every pair, from the features recorded last."""
        losses = {}
        for pair in self.pairs:
            s, t = self._pair_features(pair)
            loss_fn = self.distill_losses[pair.name]
            if t is None:
                losses[f'loss_distill_{pair.name}'] = loss_fn(s)
                continue
            if pair.name in self.projectors:
                pred, target = self.projectors[pair.name](s, t, inputs_hw, teacher_hw)
            else:
                pred, target = self._no_projector_pair(pair, s, t, inputs_hw, teacher_hw)
            losses[f'loss_distill_{pair.name}'] = loss_fn(pred, target)
        return losses

    @staticmethod
    def _no_projector_pair(pair, s, t, s_hw, t_hw):
        s = to_feature_map(s, s_hw, 16)
        t = to_feature_map(t, t_hw, 16)
        if s.shape[1] != t.shape[1]:
            raise ValueError(f'pair "{pair.name}" has no projector but the student feature '
                             f'{tuple(s.shape)} and teacher feature {tuple(t.shape)} differ in '
                             'channels; add projector=dict(type="InvertedProjector").')
        if s.shape[-2:] != t.shape[-2:]:
            t = F.interpolate(t, size=s.shape[-2:], mode='bilinear', align_corners=False)
        return s, t

    def loss(self, inputs: Tensor, data_samples=None) -> Dict[str, Tensor]:
        """Student task losses (unchanged) plus one ``loss_distill_<name>`` per pair.

        Args:
            inputs (Tensor): Preprocessed images (B, 3, H, W).
            data_samples (list): The student's data samples.

        Returns:
            dict[str, Tensor]: the loss dict MMEngine sums and logs.
        """
        teacher_hw = None
        if self.teacher_recorder is not None:
            teacher_hw = self.run_teacher(inputs)
        with self.student_recorder:
            losses = dict(self.student.loss(inputs, data_samples))
        clash = [k for k in losses if k.startswith('loss_distill_')]
        if clash:
            raise RuntimeError(f'student losses {clash} collide with distillation loss names')
        losses.update(self.distill_losses_from_features(inputs.shape[-2:], teacher_hw))
        return losses

    def forward(self, inputs: Tensor, data_samples=None, mode: str = 'tensor'):
        """``mode='loss'``: distillation losses; ``'predict'``/``'tensor'``: the student alone."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode in ('predict', 'tensor'):
            return self.student(inputs, data_samples, mode=mode)
        raise RuntimeError(f'invalid mode "{mode}"; valid modes: loss, predict, tensor')

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The distilled feature pairs: where each side's feature comes from, the projector
and the loss; one component that every kind of student uses."""
import copy
from typing import Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence

import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor

from ..hooks.feature_recorder import FeatureRecorder
from ..projectors.base import BaseProjector
from ..registry import MODELS
from ..utils.feature_maps import infer_patch_size, to_feature_map
from ..utils.keys import unknown_keys_message
from ..utils.scoped_build import mmseg_default_scope

#: keys of a ``distill_pairs`` entry
PAIR_KEYS = ('name', 'student', 'student_index', 'student_source', 'teacher', 'teacher_index',
             'teacher_name', 'projector', 'loss')


class PairOutput(NamedTuple):
    """What one pair compared: ``pred`` and ``target`` (B, C, H, W), None for a
    teacher-free pair, and the weighted loss (a scalar)."""
    pred: Optional[Tensor]
    target: Optional[Tensor]
    loss: Tensor


class PairSpec:
    """One parsed ``distill_pairs`` entry (see :class:`DistillPairs` for its meaning).

    Args:
        cfg (dict): The entry, with keys among :data:`PAIR_KEYS`; ``name``,
            ``student`` and ``loss`` are required.
        index (int): Its position in ``distill_pairs``, for messages.

    Attributes:
        name (str): The pair's name; its loss is logged as ``loss_distill_<name>``.
        student (str): The hooked student module, as in ``named_modules()``.
        student_index (int | str | None): Item of that module's output (or input).
        student_source (str): ``'output'`` (default) or ``'input'``.
        teacher (str | None): The teacher module; None for a teacher-free pair.
        teacher_index (int | str | None): Item of the teacher module's output.
        teacher_name (str | None): The teacher it reads; None until
            :class:`DistillPairs` resolves it (the only teacher by default).
        teacher_key (str | None): Key of the feature in that teacher's output
            (:meth:`FrozenTeacher.watch`), set by :class:`DistillPairs`.
        projector_cfg (dict | None): A copy of the projector config.
        loss_cfg (dict): A copy of the loss config.

    Raises:
        ValueError: for unknown keys (with close matches and the valid keys), a
            missing ``name``, ``student`` or ``loss``, or a projector without a
            teacher module.
    """

    def __init__(self, cfg: dict, index: int) -> None:
        message = unknown_keys_message(cfg, PAIR_KEYS, f'distill_pairs[{index}] has unknown keys',
                                       'valid keys:')
        if message:
            raise ValueError(message)
        for key in ('name', 'student', 'loss'):
            if key not in cfg:
                raise ValueError(f'distill_pairs[{index}] needs a "{key}" entry; got {cfg}')
        self.name: str = cfg['name']
        self.student: str = cfg['student']
        self.student_index = cfg.get('student_index')
        self.student_source: str = cfg.get('student_source', 'output')
        self.teacher: Optional[str] = cfg.get('teacher')
        self.teacher_index = cfg.get('teacher_index')
        self.teacher_name: Optional[str] = cfg.get('teacher_name')
        self.teacher_key: Optional[str] = None
        self.projector_cfg: Optional[dict] = copy.deepcopy(cfg.get('projector'))
        self.loss_cfg: dict = copy.deepcopy(cfg['loss'])
        if self.projector_cfg is not None and self.teacher is None:
            raise ValueError(f'distill_pairs[{index}] ("{self.name}") has a projector but no '
                             'teacher module; a teacher-free pair takes only a loss on the '
                             'student feature.')


class DistillPairs(nn.Module):
    """Every distilled pair of a model: the student's hooked features, the
    projectors and the losses, with one public way to compute them.

    Each ``distill_pairs`` entry names a student module (its output, or input, and
    an index into it), a teacher module of one of the holder's
    :class:`~mmkd_invproj.teachers.FrozenTeacher` (``teacher_name``, default: the
    only one), a projector and a loss. The student's modules are hooked here (an
    in-place-safe, deep-copyable :class:`~mmkd_invproj.hooks.FeatureRecorder`); the
    teacher side is requested from each teacher with ``watch``. A pair without
    ``teacher`` applies its loss to the student feature alone (a teacher-free
    regulariser, e.g. ``SpectralLoss``). A pair without ``projector`` compares maps
    of equal channels, the teacher map resized bilinearly to the student grid.

    A holder (``CrossTaskDistiller``, a GAN student) calls, per step::

        teacher_features = {name: teacher(x) for name, teacher in teachers.items()}
        out = pairs.run_student(student_fn, ...)      # records the student features
        outputs = pairs(teacher_features, x.shape[-2:])
        losses = pairs.losses(outputs)                # {'loss_distill_<name>': ...}

    Args:
        pairs (Sequence[dict]): ``distill_pairs`` entries with keys ``name`` (the loss
            is logged as ``loss_distill_<name>``), ``student`` (module name),
            ``student_index`` (int/str into its output), ``student_source``
            ('output' or 'input'), ``teacher`` (module name in the teacher network),
            ``teacher_index``, ``teacher_name``, ``projector`` (dict) and ``loss``
            (dict).
        student (nn.Module): The student network the module names refer to.
        teachers (Mapping[str, FrozenTeacher]): The holder's teachers by name.

    Raises:
        ValueError: invalid pair entries, repeated names, a teacher pair without
            teachers, or an unknown or missing ``teacher_name`` (lists the names).
        KeyError: an unknown module name (lists close names).
        TypeError: a projector config that does not build a ``BaseProjector``.
    """

    def __init__(self, pairs: Sequence[dict], student: nn.Module,
                 teachers: Mapping[str, nn.Module]) -> None:
        super().__init__()
        self.specs: List[PairSpec] = [PairSpec(dict(p), i) for i, p in enumerate(pairs)]
        names = [s.name for s in self.specs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f'distill pair names must be unique, repeated: {dup}')
        sources = {}
        for spec in self.specs:
            if sources.setdefault(spec.student, spec.student_source) != spec.student_source:
                raise ValueError(f'student module "{spec.student}" is read both as input and '
                                 'output; hook its parent or child module for one of them')
        self._recorder = FeatureRecorder(student, list(sources), role='student', sources=sources)
        self.student_patch_size = infer_patch_size(student)
        for spec in self.specs:
            if spec.teacher is not None:
                spec.teacher_name = self._teacher_name(spec, teachers)
                spec.teacher_key = teachers[spec.teacher_name].watch(spec.teacher,
                                                                     spec.teacher_index)
        self.projectors = nn.ModuleDict()
        self.distill_losses = nn.ModuleDict()
        with mmseg_default_scope():
            for spec in self.specs:
                if spec.projector_cfg is not None:
                    projector = MODELS.build(spec.projector_cfg)
                    if not isinstance(projector, BaseProjector):
                        raise TypeError(f'pair "{spec.name}": projector must build a '
                                        'BaseProjector (InvertedProjector, '
                                        f'TraditionalProjector), got {type(projector).__name__}')
                    self.projectors[spec.name] = projector
                self.distill_losses[spec.name] = MODELS.build(spec.loss_cfg)

    @staticmethod
    def _teacher_name(spec: PairSpec, teachers: Mapping[str, nn.Module]) -> str:
        if not teachers:
            raise ValueError(f'pair "{spec.name}" names teacher module "{spec.teacher}" but no '
                             '`teacher` is configured')
        if spec.teacher_name is None:
            if len(teachers) > 1:
                raise ValueError(f'pair "{spec.name}": there are several teachers '
                                 f'{list(teachers)}; set teacher_name to one of them')
            return next(iter(teachers))
        if spec.teacher_name not in teachers:
            raise ValueError(f'pair "{spec.name}": teacher_name "{spec.teacher_name}" is not one '
                             f'of the teachers {list(teachers)}')
        return spec.teacher_name

    @property
    def needs_calibration(self) -> bool:
        """Whether a projector still lacks its channel counts."""
        return any(not p.is_built for p in self.projectors.values())

    @property
    def teacher_names(self) -> List[str]:
        """Names of the teachers some pair reads."""
        return sorted({s.teacher_name for s in self.specs if s.teacher_name is not None})

    def run_student(self, fn: Callable, *args, **kwargs):
        """Call ``fn(*args, **kwargs)`` and record the hooked student features of
        exactly that call (in-place safe); returns what ``fn`` returns."""
        return self._recorder.run(fn, *args, **kwargs)

    def _student_map(self, spec: PairSpec, input_hw) -> Tensor:
        feat = self._recorder.get(spec.student, spec.student_index)
        return to_feature_map(feat, input_hw, self.student_patch_size, role='student')

    def calibrate(self, fn: Callable, teacher_features: Mapping[str, Mapping[str, Tensor]],
                  input_hw: Sequence[int]) -> None:
        """Infer the missing projector channels from one dry run.

        Args:
            fn (Callable): Runs the student on a dummy batch (no arguments).
            teacher_features: The teachers' outputs on the same batch.
            input_hw (Sequence[int]): (H, W) in pixels of that batch.
        """
        self.run_student(fn)
        try:
            for spec in self.specs:
                projector = self.projectors[spec.name] if spec.name in self.projectors else None
                if projector is None or projector.is_built:
                    continue
                s = self._student_map(spec, input_hw)
                t = teacher_features[spec.teacher_name][spec.teacher_key]
                projector.build(*projector.channels_for(s.shape[1], t.shape[1]))
                print_log(f'distill pair "{spec.name}": {type(projector).__name__} '
                          f'{projector.in_channels} -> {projector.out_channels} channels '
                          f'(student {tuple(s.shape[1:])}, teacher {tuple(t.shape[1:])})',
                          logger='current')
        finally:
            self._recorder.clear()

    def student_maps(self, input_hw: Optional[Sequence[int]] = None) -> Dict[str, Tensor]:
        """Every pair's student feature from the last :meth:`run_student`, then release
        the recording.

        Args:
            input_hw (Sequence[int], optional): (H, W) in pixels of the student's
                input; needed only when the student gives tokens.

        Returns:
            dict[str, Tensor]: ``{pair name: (B, C, h, w) map}``.

        Raises:
            RuntimeError: when a hooked module did not run in that call.
        """
        try:
            return {spec.name: self._student_map(spec, input_hw) for spec in self.specs}
        finally:
            self._recorder.clear()

    def compare(self, student_maps: Mapping[str, Tensor],
                teacher_features: Mapping[str, Mapping[str, Tensor]]) -> Dict[str, PairOutput]:
        """Projector and loss of the pairs named in ``student_maps``, on given maps.

        Args:
            student_maps: ``{pair name: (B, C, h, w) map}`` (:meth:`student_maps`, or
                any maps of those shapes, e.g. detached copies).
            teacher_features: ``{teacher name: FrozenTeacher output}`` of this step.

        Returns:
            dict[str, PairOutput]: by pair name, in the order of ``distill_pairs``.
        """
        outputs = {}
        for spec in self.specs:
            if spec.name not in student_maps:
                continue
            s = student_maps[spec.name]
            loss_fn = self.distill_losses[spec.name]
            if spec.teacher is None:
                outputs[spec.name] = PairOutput(None, None, loss_fn(s))
                continue
            t = teacher_features[spec.teacher_name][spec.teacher_key]
            if spec.name in self.projectors:
                pred, target = self.projectors[spec.name](s, t)
            else:
                pred, target = self._same_space(spec, s, t)
            outputs[spec.name] = PairOutput(pred, target, loss_fn(pred, target))
        return outputs

    def forward(self, teacher_features: Mapping[str, Mapping[str, Tensor]],
                input_hw: Optional[Sequence[int]] = None) -> Dict[str, PairOutput]:
        """Compare every pair on the features recorded by the last :meth:`run_student`
        (:meth:`student_maps`, then :meth:`compare`).

        Args:
            teacher_features: ``{teacher name: FrozenTeacher output}`` of this step.
            input_hw (Sequence[int], optional): (H, W) in pixels of the student's
                input; needed only when the student gives tokens.

        Returns:
            dict[str, PairOutput]: by pair name; the student features are released.
        """
        return self.compare(self.student_maps(input_hw), teacher_features)

    @staticmethod
    def _same_space(spec: PairSpec, s: Tensor, t: Tensor):
        if s.shape[1] != t.shape[1]:
            raise ValueError(f'pair "{spec.name}" has no projector but the student feature '
                             f'{tuple(s.shape)} and teacher feature {tuple(t.shape)} differ in '
                             'channels; add projector=dict(type="InvertedProjector").')
        if s.shape[-2:] != t.shape[-2:]:
            t = F.interpolate(t, size=s.shape[-2:], mode='bilinear', align_corners=False)
        return s, t

    def remove_hooks(self) -> None:
        """Remove the hooks on the student (the pairs record nothing afterwards)."""
        self._recorder.remove()

    @staticmethod
    def losses(outputs: Mapping[str, PairOutput]) -> Dict[str, Tensor]:
        """``{'loss_distill_<name>': loss}`` for MMEngine's loss dict."""
        return {f'loss_distill_{name}': out.loss for name, out in outputs.items()}

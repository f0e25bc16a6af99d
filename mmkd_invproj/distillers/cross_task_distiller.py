# Copyright (c) mmkd-invproj authors. All rights reserved.
"""CrossTaskDistiller: an MMSeg student of one task, frozen teachers of others, and
the feature pairs between them."""
from typing import Dict, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModel
from torch import Tensor

from ..registry import MODELS
from ..teachers.frozen import SINGLE_TEACHER_KEYS, build_teachers
from ..utils.num_classes import check_head_num_classes
from ..utils.scoped_build import build_in_scope, mmseg_default_scope
from .pairs import DistillPairs, PairOutput
from .teacher_holder import TeacherHolderMixin

#: state-dict prefixes of checkpoints written before the teachers and pairs became
#: modules of their own -> today's prefixes
LEGACY_PREFIXES = (('teacher.', 'teachers.teacher.network.'),
                   ('projectors.', 'pairs.projectors.'),
                   ('distill_losses.', 'pairs.distill_losses.'))


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


@MODELS.register_module()
class CrossTaskDistiller(TeacherHolderMixin, BaseModel):
    """Cross-task feature distillation from frozen teachers into any MMSeg model.

    The student is any MMSeg model config (``DepthEstimator``, ``EncoderDecoder``)
    and keeps its own losses; each ``distill_pairs`` entry adds one
    ``loss_distill_<name>`` term (:class:`DistillPairs`), computed through a
    projector (``InvertedProjector``: teacher -> student space, Auty et al. BMVC
    2024; ``TraditionalProjector``: student -> teacher space) and a loss. The total
    loss is ``L_task + sum_pairs L_distill`` (each weighted by its ``loss_weight``,
    supplementary 6.4). Validation, test and predict run the student alone; the
    student's data preprocessor is the distiller's. The teachers run on the
    preprocessed batch (``teacher_features`` and the projector dry run come from
    :class:`~.teacher_holder.TeacherHolderMixin`).

    Args:
        student (dict): MMSeg model config of the student.
        teacher (dict, optional): One teacher's network config (see
            :class:`~mmkd_invproj.teachers.FrozenTeacher`, ``model``). Its options are
            the ``teacher_*`` keywords below. None: no teacher (teacher-free pairs
            only, or a baseline).
        distill_pairs (Sequence[dict]): The pairs (see :class:`DistillPairs`).
        teachers (dict, optional): Several teachers by name,
            ``dict(cls=dict(model=..., checkpoint=...), depth=dict(...))`` with
            :class:`~mmkd_invproj.teachers.FrozenTeacher`'s arguments; each pair picks
            one with ``teacher_name``. Each runs once per step.
        infer_input_size (tuple[int, int]): (H, W) of the dummy batch of the dry run
            that infers projector channels a config leaves out.
        data_preprocessor (dict, optional): Overrides the student's preprocessor.
        init_cfg (dict, optional): MMEngine init config of the distiller.
        **teacher_options: The single teacher's ``teacher_*`` keywords
            (:data:`~mmkd_invproj.teachers.frozen.SINGLE_TEACHER_KEYS`): its
            :class:`~mmkd_invproj.teachers.FrozenTeacher` arguments.

    Raises:
        ValueError: invalid pairs, student heads with different ``num_classes``
            (both named), both ``teacher`` and ``teachers``.
        TypeError: an unknown keyword (lists the valid ones).
        KeyError: an unknown module name (close names listed), or a ``ScopeError``
            naming the missing scope and its ``custom_imports`` fix.
    """

    #: the keywords ``**teacher_options`` takes (read by the tools' config check)
    accepted_keywords = tuple(SINGLE_TEACHER_KEYS)

    def __init__(self,
                 student: dict,
                 teacher: Optional[dict] = None,
                 distill_pairs: Sequence[dict] = (),
                 teachers: Optional[dict] = None,
                 infer_input_size: Tuple[int, int] = (224, 224),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 **teacher_options) -> None:
        with mmseg_default_scope():
            student_model = (build_in_scope(student, MODELS, role='student')
                             if isinstance(student, dict) else student)
        check_head_num_classes(student_model)  # decode/auxiliary heads must agree
        _warn_preprocessor_mismatch(student, data_preprocessor)
        if data_preprocessor is None:
            data_preprocessor = student_model.data_preprocessor
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = student_model
        self.teachers = build_teachers(teacher, teachers, **teacher_options)
        mean = getattr(self.data_preprocessor, 'mean', None)
        std = getattr(self.data_preprocessor, 'std', None)
        for name, t in self.teachers.items():
            if t.norm is not None and (mean is None or std is None):
                raise ValueError(f'teacher "{name}" has a norm but the student preprocessor does '
                                 'not normalise (mean/std unset), so its input cannot be '
                                 'renormalised')
            if mean is not None and std is not None:
                t.set_input_norm(mean.flatten().tolist(), std.flatten().tolist())
        self.pairs = DistillPairs(distill_pairs, self.student, self.teachers)
        self.infer_input_size = tuple(infer_input_size)
        self._register_load_state_dict_pre_hook(_upgrade_legacy_keys)
        if self.pairs.needs_calibration:
            self._calibrate()

    @property
    def teacher(self) -> Optional[nn.Module]:
        """The network of the single teacher (None without one).

        Raises:
            AttributeError: with several teachers (use ``teachers[name].network``).
        """
        if len(self.teachers) > 1:
            raise AttributeError(f'this distiller has several teachers {list(self.teachers)}; '
                                 'use distiller.teachers[name].network')
        return next(iter(self.teachers.values())).network if self.teachers else None

    def _calibrate(self) -> None:
        """Dry run of the student's ``_forward`` on a zero batch (1, 3,
        ``infer_input_size``): projector channels, in-place-modified features
        (:meth:`~.teacher_holder.TeacherHolderMixin.calibrate_pairs`)."""
        self.calibrate_pairs(self.student, self.student._forward)

    def init_weights(self) -> None:
        """Initialise the student only; teachers and projectors are set up when built."""
        if hasattr(self.student, 'init_weights'):
            self.student.init_weights()

    def pair_outputs(self, inputs: Tensor, data_samples=None
                     ) -> Tuple[Dict[str, Tensor], Dict[str, PairOutput]]:
        """The student's task losses and every pair's ``(pred, target, loss)``.

        Args:
            inputs (Tensor): Preprocessed images (B, 3, H, W).
            data_samples (list): The student's data samples.

        Returns:
            tuple[dict, dict]: (student loss dict, ``{pair name: PairOutput}``).

        Raises:
            RuntimeError: when a student loss is named ``loss_distill_*``.
        """
        teacher_features = self.teacher_features(inputs)
        losses = dict(self.pairs.run_student(self.student.loss, inputs, data_samples))
        clash = [k for k in losses if k.startswith('loss_distill_')]
        if clash:
            raise RuntimeError(f'student losses {clash} collide with distillation loss names')
        return losses, self.pairs(teacher_features, inputs.shape[-2:])

    def loss(self, inputs: Tensor, data_samples=None) -> Dict[str, Tensor]:
        """Student task losses (unchanged) plus one ``loss_distill_<name>`` per pair."""
        losses, outputs = self.pair_outputs(inputs, data_samples)
        losses.update(self.pairs.losses(outputs))
        return losses

    def forward(self, inputs: Tensor, data_samples=None, mode: str = 'tensor'):
        """``mode='loss'``: distillation losses; ``'predict'``/``'tensor'``: the student alone."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode in ('predict', 'tensor'):
            return self.student(inputs, data_samples, mode=mode)
        raise RuntimeError(f'invalid mode "{mode}"; valid modes: loss, predict, tensor')


def _upgrade_legacy_keys(state_dict, prefix, *args) -> None:
    """Load-state-dict pre-hook: rename the keys of older distiller checkpoints."""
    for key in list(state_dict):
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix):]
        for old, new in LEGACY_PREFIXES:
            if rest.startswith(old):
                state_dict[prefix + new + rest[len(old):]] = state_dict.pop(key)
                break

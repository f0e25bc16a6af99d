# Copyright (c) mmkd-invproj authors. All rights reserved.
"""What Pix2Pix and CycleGAN share: the networks by name, the optimizer groups,
prediction for metrics, and the distillation parts (the core's frozen teachers and
pairs)."""
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.structures import BaseDataElement
from torch import Tensor

from ..distillers.pairs import DistillPairs, PairOutput
from ..distillers.teacher_holder import TeacherHolderMixin, training_mode
from ..registry import MODELS
from ..teachers.frozen import SINGLE_TEACHER_KEYS, build_teachers
from ..utils.model_wrappers import unwrap_model
from .data_preprocessor import TEACHER_INPUT_NORM


class NetworkDict(nn.ModuleDict):
    """An ``nn.ModuleDict`` of networks with a ``forward(name, x)``.

    A DDP wrapper (MMEngine's ``MMSeparateDistributedDataParallel`` wraps each child
    of the model separately) needs a ``forward`` to synchronise gradients: the models
    call ``self.generators('G_A', x)`` through it, never ``self.generators['G_A']``
    (which would bypass the wrapper).
    """

    def forward(self, name: str, *args, **kwargs):
        """Run the network ``name``."""
        return self[name](*args, **kwargs)


def _build(cfg: Union[dict, nn.Module]) -> nn.Module:
    return cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)


class BaseTranslationModel(TeacherHolderMixin, BaseModel):
    """Base of the image-to-image translation students (Pix2Pix, CycleGAN).

    Holds ``generators`` and ``discriminators`` (:class:`NetworkDict`, keyed by the
    official names: ``G``/``D`` for Pix2Pix, ``G_A``/``G_B``/``D_A``/``D_B`` for
    CycleGAN), the adversarial loss and, for cross-task distillation, the same parts
    as ``CrossTaskDistiller`` built from the same config keys: ``teachers`` (the
    frozen :class:`~mmkd_invproj.teachers.FrozenTeacher` modules of
    :func:`~mmkd_invproj.teachers.build_teachers`) and ``pairs`` (one
    :class:`~mmkd_invproj.distillers.DistillPairs` whose student is ``generators``, so
    a pair names its student module with the generator first: ``'G_B.model.18'``).
    Training goes through ``train_step`` with an ``OptimWrapperDict`` of two
    wrappers, ``'generators'`` (generators and projectors) and ``'discriminators'``
    (see :meth:`optim_groups` and ``TranslationOptimWrapperConstructor``);
    ``forward(mode='loss')`` does not exist.

    The teachers see the real input x as an RGB image in [-1, 1]
    (``TranslationDataPreprocessor.teacher_input``); each is told so
    (``set_input_norm`` with :data:`~.data_preprocessor.TEACHER_INPUT_NORM`), and one
    with a ``norm`` of its own (``teacher_norm``) gets its input renormalised to it.
    The student feature of a pair is recorded in exactly one generator call, the one
    the subclass runs through :meth:`distilled_call`. ``teacher_features`` and the
    projector dry run (:meth:`calibrate`) are those of
    :class:`~mmkd_invproj.distillers.TeacherHolderMixin`, as in ``CrossTaskDistiller``.

    ``val_step`` / ``test_step`` translate domain A with the default generator and
    return one ``BaseDataElement`` per image with ``input_img``, ``pred_img`` and (when
    the batch has domain B) ``gt_img``: uint8 RGB (3, H, W) on the CPU, for
    :class:`PSNRMetric`, :class:`FIDMetric` and :class:`TranslationVisualizationHook`.

    Weights are initialised N(0, 0.02) when the networks are built (as in the official
    code); :meth:`init_weights` leaves them (and the loaded teacher) untouched.

    Args:
        generators (dict): ``{name: generator config}``.
        discriminators (dict, optional): ``{name: discriminator config}``.
        gan_loss (dict): :class:`GANLoss` config.
        default_generator (str): The generator of ``predict`` (A -> B).
        data_preprocessor (dict, optional): Defaults to
            ``TranslationDataPreprocessor`` (RGB in [-1, 1]).
        teacher (dict, optional): One teacher's network config, as for
            ``CrossTaskDistiller`` (its options are the ``teacher_*`` keywords).
        distill_pairs (Sequence[dict]): The pairs (see ``DistillPairs``); student
            module names start with a generator name.
        teachers (dict, optional): Several teachers by name, with ``FrozenTeacher``'s
            arguments; each pair picks one with ``teacher_name``.
        infer_input_size (tuple[int, int]): (H, W) of the dry run that infers the
            projector channels a config leaves out (a multiple of 256 for
            ``unet_256``).
        test_train_mode (bool): Predict with the generators in training mode (batch
            statistics, dropout on), as the official ``test.py`` without ``--eval``.
        init_cfg (dict, optional): Unused (kept for MMEngine).
        **teacher_options: The single teacher's ``teacher_ckpt``, ``teacher_seed``,
            ``teacher_norm``, ``teacher_input_size``, ``teacher_dtype``,
            ``teacher_method``, ``teacher_early_exit`` ... (see ``build_teachers``).

    Raises:
        KeyError: for a ``default_generator`` that is not a generator, or an unknown
            module name in a pair (close names listed).
        ValueError: invalid pairs, or both ``teacher`` and ``teachers``.
        TypeError: an unknown ``teacher_*`` keyword (the valid ones listed).
    """

    #: the keywords read from ``**teacher_options`` (the tools' config check adds the
    #: named ``__init__`` parameters of every class in the MRO, so a misspelt key fails
    #: before the Runner starts)
    accepted_keywords = tuple(SINGLE_TEACHER_KEYS)

    def __init__(self,
                 generators: Mapping[str, dict],
                 discriminators: Optional[Mapping[str, dict]],
                 gan_loss: dict,
                 default_generator: str,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 teacher: Optional[dict] = None,
                 distill_pairs: Sequence[dict] = (),
                 teachers: Optional[Mapping[str, dict]] = None,
                 infer_input_size: Tuple[int, int] = (256, 256),
                 test_train_mode: bool = False,
                 init_cfg: Optional[dict] = None,
                 **teacher_options) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='TranslationDataPreprocessor')
        super().__init__(data_preprocessor=_build(data_preprocessor), init_cfg=init_cfg)
        self.generators = NetworkDict({k: _build(v) for k, v in generators.items()})
        self.discriminators = (NetworkDict({k: _build(v) for k, v in discriminators.items()})
                               if discriminators else None)
        if default_generator not in self.generators:
            raise KeyError(f'default_generator {default_generator!r} is not one of '
                           f'{list(self.generators)}')
        self.default_generator = default_generator
        self.gan_loss = _build(gan_loss)
        self.test_train_mode = test_train_mode
        self.teachers = build_teachers(teacher, teachers, **teacher_options)
        for t in self.teachers.values():
            t.set_input_norm(TEACHER_INPUT_NORM['mean'], TEACHER_INPUT_NORM['std'])
        self.pairs = DistillPairs(distill_pairs, self.generators, self.teachers)
        self.infer_input_size = tuple(infer_input_size)
        self._stepped: Set[str] = set()  # optimizer groups whose gradients are stale

    # ------------------------------------------------------------------ training helpers
    def optim_groups(self) -> Dict[str, Dict[str, nn.Module]]:
        """The modules each optimizer trains, by the attribute that holds them:
        ``'generators'``: ``{'generators': ..., 'pairs': ...}`` (the generators and the
        distillation projectors), ``'discriminators'``: ``{'discriminators': ...}``.

        Returns:
            dict: ``{group: {attribute name: module}}``; a parameter's name in its
            group (``generators.G.model...``, ``pairs.projectors.<pair>...``) is its
            name in the model, which ``paramwise_cfg.custom_keys`` match.
        """
        groups = {'generators': dict(generators=self.generators, pairs=self.pairs)}
        if self.discriminators is not None:
            groups['discriminators'] = dict(discriminators=self.discriminators)
        return groups

    def init_weights(self) -> None:
        """Nothing to do: the networks were initialised N(0, 0.02) when built, the
        teacher holds its loaded weights and the projectors their own init."""

    @property
    def distilling(self) -> bool:
        """Whether the model has distillation pairs."""
        return bool(unwrap_model(self.pairs).specs)

    def distilled_call(self, fn: Callable[..., Any], *args, real_a: Tensor
                       ) -> Tuple[Any, Dict[str, PairOutput]]:
        """``fn(*args)`` as the distilled student call, and every pair's outputs.

        The pairs record the student features of this call only
        (``DistillPairs.run_student``), e.g. CycleGAN's ``G_B(fake_B)`` and not G_B's
        calls on real images or for the identity loss; the teachers run on the real
        input as RGB in [-1, 1] (``data_preprocessor.teacher_input(real_a)``, a Lab to
        RGB conversion in ``'lab'`` mode). Without pairs this is ``fn(*args)`` and no
        outputs, and the teacher input is not computed.

        Args:
            fn (Callable): The student call (the generators, possibly DDP-wrapped).
            *args: Its arguments (``'G_B', fake_b``).
            real_a (Tensor): The real input x as the network sees it (domain A of the
                preprocessed batch), (B, C_A, H, W).

        Returns:
            tuple: (``fn``'s output, ``{pair name: PairOutput(pred, target, loss)}``;
            ``DistillPairs.losses`` turns them into ``loss_distill_<name>`` terms).
        """
        if not self.distilling:
            return fn(*args), {}
        teacher_input = self.data_preprocessor.teacher_input(real_a)
        features = self.teacher_features(teacher_input)
        out = unwrap_model(self.pairs).run_student(fn, *args)
        # through the DDP wrapper when there is one: it synchronises the projectors
        return out, self.pairs(features, tuple(teacher_input.shape[-2:]))

    def calibrate(self, generator: str) -> None:
        """Dry run of the distilled call ``generator`` on a zero image of
        ``infer_input_size`` with the generator's ``in_channels`` (the generators in
        eval mode, no gradient, nothing kept; the teachers on a zero RGB image) when
        a projector still lacks its channels
        (:meth:`~mmkd_invproj.distillers.TeacherHolderMixin.calibrate_pairs`).

        Args:
            generator (str): The generator whose call is distilled (``'G'``,
                ``'G_A'``, ``'G_B'``).
        """
        net = unwrap_model(self.generators)[generator]
        self.calibrate_pairs(self.generators, lambda x: self.generators(generator, x),
                             getattr(net, 'in_channels', 3))

    def update(self, group: str, optim_wrapper: OptimWrapper, loss: Tensor) -> None:
        """``optim_wrapper.update_params(loss)`` in the official order: the gradients of
        the last update are freed right before this backward, not right after that
        step.

        MMEngine's ``update_params`` frees them (``zero_grad``) after the step, so the
        next forward takes their memory and the next backward allocates them anew: on
        a CPU that made a Pix2Pix step about 14 % slower than the official loop, whose
        backward reuses the memory its ``zero_grad`` has just freed
        (``tools/analysis/benchmark_translation.py``; zeroing them in place instead
        costs their accumulation, about 7 %). Gradient accumulation
        (``accumulative_counts``) and AMP work as in ``update_params``; between steps
        the parameters keep the gradients of their last update, as in the official
        code.

        Args:
            group (str): The optimizer group (``'generators'``, ``'discriminators'``).
            optim_wrapper (OptimWrapper): Its wrapper.
            loss (Tensor): The scalar loss of this group.
        """
        if group in self._stepped:
            optim_wrapper.zero_grad()
            self._stepped.discard(group)
        optim_wrapper.backward(optim_wrapper.scale_loss(loss))
        if optim_wrapper.should_update():
            optim_wrapper.step()
            self._stepped.add(group)

    def parse_named_losses(self, losses: Dict[str, Tensor],
                           total: str) -> Tuple[Tensor, Dict[str, Tensor]]:
        """``BaseModel.parse_losses`` with the sum logged as ``total`` (``'loss_G'`` /
        ``'loss_D'``) instead of ``'loss'``; logged values detached."""
        loss, log_vars = self.parse_losses(losses)
        log_vars[total] = log_vars.pop('loss')
        return loss, {k: v.detach() for k, v in log_vars.items()}

    def l1(self, pred: Tensor, target: Tensor) -> Tensor:
        """Mean absolute error ``F.l1_loss`` in float32 (also under autocast, whatever
        the dtypes of ``pred`` and ``target``): a scalar float32 tensor.

        Args:
            pred (Tensor): (B, C, H, W), any floating dtype.
            target (Tensor): The same shape, any floating dtype.
        """
        return F.l1_loss(pred.float(), target.float())

    # ------------------------------------------------------------------ inference
    def translate(self, real_a: Tensor) -> Tensor:
        """Domain A (network tensor) -> domain B with the default generator."""
        return self.generators(self.default_generator, real_a)

    def forward(self, inputs: Union[Tensor, Dict[str, Tensor]],
                data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor') -> Union[Tensor, List[BaseDataElement]]:
        """``'tensor'``: the translated batch (network tensor); ``'predict'``: data
        samples with uint8 images (see the class docstring).

        Raises:
            RuntimeError: for ``mode='loss'`` (a GAN trains through ``train_step``).
            ValueError: for another mode.
        """
        real_a = inputs['A'] if isinstance(inputs, dict) else inputs
        if mode == 'tensor':
            return self.translate(real_a)
        if mode == 'predict':
            return self.predict(inputs if isinstance(inputs, dict) else dict(A=inputs),
                                data_samples)
        if mode == 'loss':
            raise RuntimeError(f'{type(self).__name__} trains through train_step (one optimizer '
                               "per network group: optim_wrapper['generators'] and "
                               "['discriminators']), not forward(mode='loss')")
        raise ValueError(f"mode must be 'tensor', 'predict' or 'loss', got {mode!r}")

    def predict(self, inputs: Dict[str, Tensor],
                data_samples: Optional[List[BaseDataElement]] = None) -> List[BaseDataElement]:
        """Translate ``inputs['A']``; attach ``input_img``, ``pred_img`` and ``gt_img``
        (from ``inputs['B']`` when present), uint8 RGB (3, H, W) on the CPU."""
        real_a = inputs['A']
        with training_mode(self.generators, self.test_train_mode):
            fake_b = self.translate(real_a)
        pre = self.data_preprocessor
        images = dict(input_img=pre.to_uint8(real_a, 'A'),
                      pred_img=pre.to_uint8(fake_b, 'B', source=real_a))
        if 'B' in inputs:
            images['gt_img'] = pre.to_uint8(inputs['B'], 'B', source=real_a)
        samples = data_samples if data_samples is not None else [
            BaseDataElement() for _ in range(real_a.shape[0])]
        for i, sample in enumerate(samples):
            sample.set_data({k: v[i].cpu() for k, v in images.items()})
        return samples

    def discriminator(self, name: str) -> nn.Module:
        """The discriminator ``name`` outside any DDP wrapper: for the generator step,
        where it is frozen and its gradients must not be synchronised."""
        return unwrap_model(self.discriminators)[name]

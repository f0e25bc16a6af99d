# Copyright (c) mmkd-invproj authors. All rights reserved.
"""What Pix2Pix and CycleGAN share: the networks by name, the optimizer groups,
prediction for metrics, and the hand-off to the distillation wiring."""
import contextlib
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from torch import Tensor

from ..registry import MODELS
from .distill import build_distill_pairs, build_teachers, calibrate_pairs, distilled_call, unwrap


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


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    """Set ``requires_grad`` of every parameter (the official ``set_requires_grad``)."""
    for p in module.parameters():
        p.requires_grad_(flag)


def _build(cfg: Union[dict, nn.Module]) -> nn.Module:
    return cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)


class BaseTranslationModel(BaseModel):
    """Base of the image-to-image translation students (Pix2Pix, CycleGAN).

    Holds ``generators`` and ``discriminators`` (:class:`NetworkDict`, keyed by the
    official names: ``G``/``D`` for Pix2Pix, ``G_A``/``G_B``/``D_A``/``D_B`` for
    CycleGAN), the adversarial loss, and optionally the frozen teacher(s) and
    ``distill_pairs`` of cross-task distillation (``distill.py``; the pairs' student
    is ``generators``). Training goes through ``train_step`` with an
    ``OptimWrapperDict`` of two wrappers, ``'generators'`` (generators and
    projectors) and ``'discriminators'`` (see :meth:`optim_groups` and
    ``TranslationOptimWrapperConstructor``); ``forward(mode='loss')`` does not exist.

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
        teacher (dict, optional): One frozen teacher (``FrozenTeacher`` arguments).
        teachers (dict, optional): Several, by name.
        distill_pairs (Sequence[dict]): The core's pair configs; student module names
            start with a generator name (``'G_B.model.18'``).
        distill_input_size (tuple[int, int]): (H, W) of the dry run that infers the
            projector channels.
        test_train_mode (bool): Predict with the generators in training mode (batch
            statistics, dropout on), as the official ``test.py`` without ``--eval``.
        init_cfg (dict, optional): Unused (kept for MMEngine).
    """

    def __init__(self,
                 generators: Mapping[str, dict],
                 discriminators: Optional[Mapping[str, dict]],
                 gan_loss: dict,
                 default_generator: str,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 teacher: Optional[dict] = None,
                 teachers: Optional[Mapping[str, dict]] = None,
                 distill_pairs: Sequence[dict] = (),
                 distill_input_size: Tuple[int, int] = (256, 256),
                 test_train_mode: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
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
        self.distill_input_size = tuple(distill_input_size)
        self.teachers = build_teachers(teacher, teachers)
        self.distill_pairs = build_distill_pairs(distill_pairs, self.generators, self.teachers)

    # ------------------------------------------------------------------ training helpers
    def optim_groups(self) -> Dict[str, List[nn.Module]]:
        """The modules each optimizer trains: ``'generators'`` (the generators and the
        distillation projectors), ``'discriminators'``."""
        groups = {'generators': [self.generators]}
        if self.distill_pairs is not None:
            groups['generators'].append(self.distill_pairs)
        if self.discriminators is not None:
            groups['discriminators'] = [self.discriminators]
        return groups

    def init_weights(self) -> None:
        """Nothing to do: the networks were initialised N(0, 0.02) when built, the
        teacher holds its loaded weights and the projectors their own init."""

    def distilled(self, fn: Callable[..., Any], *args, teacher_input: Tensor) -> Tuple[Any, dict]:
        """``fn(*args)`` as the distilled student call (its student features recorded),
        with the teacher(s) on ``teacher_input``; returns (output, distillation losses,
        empty without pairs). See :func:`distilled_call`."""
        return distilled_call(self.teachers, self.distill_pairs, teacher_input, fn, *args)

    def calibrate_distillation(self, generator: str) -> None:
        """Dry run of the distilled call ``generator`` on a zero image of
        ``distill_input_size`` so the pairs infer the projector channels (eval mode,
        no gradient, nothing kept)."""
        if self.distill_pairs is None:
            return
        h, w = self.distill_input_size
        net = unwrap(self.generators)[generator]
        x = torch.zeros(1, getattr(net, 'in_channels', 3), h, w)
        with self._mode(self.generators, train=False):
            calibrate_pairs(self.teachers, self.distill_pairs, torch.zeros(1, 3, h, w),
                            lambda: self.generators(generator, x))

    def parse_named_losses(self, losses: Dict[str, Tensor],
                           total: str) -> Tuple[Tensor, Dict[str, Tensor]]:
        """``BaseModel.parse_losses`` with the sum logged as ``total`` (``'loss_G'`` /
        ``'loss_D'``) instead of ``'loss'``; logged values detached."""
        loss, log_vars = self.parse_losses(losses)
        log_vars[total] = log_vars.pop('loss')
        return loss, {k: v.detach() for k, v in log_vars.items()}

    def l1(self, pred: Tensor, target: Tensor) -> Tensor:
        """Mean absolute error in float32 (also under autocast)."""
        return (pred.float() - target.float()).abs().mean()

    # ------------------------------------------------------------------ inference
    @staticmethod
    @contextlib.contextmanager
    def _mode(module: nn.Module, train: bool) -> Iterator[None]:
        previous = module.training
        module.train(train)
        try:
            yield
        finally:
            module.train(previous)

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
        with self._mode(self.generators, train=self.test_train_mode):
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
        return unwrap(self.discriminators)[name]

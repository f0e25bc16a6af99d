# Copyright (c) mmkd-invproj authors. All rights reserved.
"""CycleGAN (Zhu et al., ICCV 2017) on MMEngine, the satellite-to-map student of the paper."""
import copy
from typing import Dict, Sequence

from mmengine.optim import OptimWrapperDict
from torch import Tensor

from ..distillers.pairs import DistillPairs
from ..registry import MODELS
from .base import BaseTranslationModel
from .image_pool import ImagePool

#: distill_position -> (the generator whose call is distilled, Z_s, supplementary 6.12)
DISTILL_POSITIONS = {
    'cycle': ('G_B', 'Z_s = G_B_E(G_A(x)): G_B\'s encoder on the translated image'),
    'forward': ('G_A', 'Z_s = G_A_E(x): G_A\'s encoder on the real input'),
}


@MODELS.register_module()
class CycleGAN(BaseTranslationModel):
    """Two generators G_A: A -> B, G_B: B -> A and two PatchGAN discriminators D_A
    (on domain B) and D_B (on domain A), trained on unpaired images.

    One training step is the official ``CycleGANModel.optimize_parameters``:

    1. ``fake_B = G_A(A)``, ``rec_A = G_B(fake_B)``, ``fake_A = G_B(B)``,
       ``rec_B = G_A(fake_A)``;
    2. generator step with D_A, D_B frozen: ``loss_G = GAN(D_A(fake_B), real) +
       GAN(D_B(fake_A), real) + lambda_A |rec_A - A|_1 + lambda_B |rec_B - B|_1 +
       lambda_identity (lambda_B |G_A(B) - B|_1 + lambda_A |G_B(A) - A|_1)
       (+ loss_distill_*)``, one update of ``optim_wrapper['generators']``;
    3. discriminator step: ``loss_D_A = 0.5 (GAN(D_A(B), real) +
       GAN(D_A(pool_B(fake_B)), fake))``, ``loss_D_B`` likewise on domain A with
       ``pool_A(fake_A)``, one update of ``optim_wrapper['discriminators']``.

    LSGAN loss, cycle weight 10 per direction, identity weight 0.5, image pools of 50
    (the official defaults). Distillation (supplementary 6.12, Table 10): the teacher
    sees the real input x = A; with ``distill_position='cycle'`` the student feature
    is recorded in the call ``G_B(fake_B)`` of step 1 (Z_s = G_B_E(G_A(x)), the
    paper's choice; G_B's calls on B and for the identity loss are not recorded),
    with ``'forward'`` in the call ``G_A(A)`` (Z_s = G_A_E(x)).

    Args:
        generator (dict): Config of G_A (``ResnetGenerator``, 9 blocks, instance
            norm); G_B is built from it with ``in_channels``/``out_channels`` swapped.
        discriminator (dict): Config of D_A and D_B (``NLayerDiscriminator``,
            instance norm, on 3 channels).
        gan_loss (dict): Defaults to LSGAN.
        lambda_A (float): Weight of the cycle loss A -> B -> A. Defaults to 10.
        lambda_B (float): Weight of the cycle loss B -> A -> B. Defaults to 10.
        lambda_identity (float): Weight of the identity losses relative to the cycle
            weights. Defaults to 0.5.
        pool_size (int): Capacity of each image pool. Defaults to 50.
        distill_position (str): ``'cycle'`` or ``'forward'`` (see above).
        test_train_mode (bool): Predict with the generators in training mode, as the
            official ``test.py`` without ``--eval`` (a :class:`BaseTranslationModel`
            argument, passed through ``**kwargs``). With the official instance norms
            (no running statistics) and no dropout it changes nothing; with
            ``use_dropout=True`` dropout stays on, with ``norm='batch'`` batch
            statistics are used. Defaults to False.
        **kwargs: :class:`BaseTranslationModel` arguments (``data_preprocessor``,
            ``teacher`` and the ``teacher_*`` keywords, ``teachers``,
            ``distill_pairs``, ``infer_input_size``, ``test_train_mode``).

    Raises:
        ValueError: for an unknown ``distill_position``, or a pair whose student
            module is not in the distilled generator (the message says which).
    """

    def __init__(self, generator: dict, discriminator: dict,
                 gan_loss: dict = dict(type='GANLoss', gan_mode='lsgan'),
                 lambda_A: float = 10.0, lambda_B: float = 10.0,  # noqa: N803 (official names)
                 lambda_identity: float = 0.5, pool_size: int = 50,
                 distill_position: str = 'cycle', **kwargs) -> None:
        if distill_position not in DISTILL_POSITIONS:
            raise ValueError(f'distill_position must be one of {list(DISTILL_POSITIONS)}, '
                             f'got {distill_position!r}')
        _check_pair_students(kwargs.get('distill_pairs', ()), distill_position)
        generator_b = copy.deepcopy(generator)
        if isinstance(generator, dict):
            generator_b['in_channels'] = generator.get('out_channels', 3)
            generator_b['out_channels'] = generator.get('in_channels', 3)
        super().__init__(generators=dict(G_A=generator, G_B=generator_b),
                         discriminators=dict(D_A=discriminator, D_B=copy.deepcopy(discriminator)),
                         gan_loss=gan_loss, default_generator='G_A', **kwargs)
        self.lambda_A, self.lambda_B, self.lambda_identity = lambda_A, lambda_B, lambda_identity
        self.distill_position = distill_position
        self.fake_A_pool, self.fake_B_pool = ImagePool(pool_size), ImagePool(pool_size)
        self.calibrate(DISTILL_POSITIONS[distill_position][0])

    def train_step(self, data: dict, optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """One official CycleGAN iteration (see the class docstring); returns the log
        variables (``loss_G_A``, ``loss_G_B``, ``loss_cycle_A``, ``loss_cycle_B``,
        ``loss_idt_A``, ``loss_idt_B``, ``loss_distill_*``, ``loss_G``, ``loss_D_A``,
        ``loss_D_B``, ``loss_D``)."""
        data = self.data_preprocessor(data, True)
        real_a, real_b = data['inputs']['A'], data['inputs']['B']
        g_optim, d_optim = optim_wrapper['generators'], optim_wrapper['discriminators']
        G = self.generators  # noqa: N806

        self.discriminators.requires_grad_(False)
        with g_optim.optim_context(G):
            if self.distill_position == 'forward':  # Z_s = G_A_E(x)
                fake_b, pair_outputs = self.distilled_call(G, 'G_A', real_a,
                                                           real_a=real_a)
                rec_a = G('G_B', fake_b)
            else:  # Z_s = G_B_E(G_A(x)), recorded in the cycle pass itself
                fake_b = G('G_A', real_a)
                rec_a, pair_outputs = self.distilled_call(G, 'G_B', fake_b,
                                                          real_a=real_a)
            fake_a = G('G_B', real_b)
            rec_b = G('G_A', fake_a)
            g_losses = {}
            if self.lambda_identity > 0:
                g_losses['loss_idt_A'] = (self.lambda_B * self.lambda_identity
                                          * self.l1(G('G_A', real_b), real_b))
                g_losses['loss_idt_B'] = (self.lambda_A * self.lambda_identity
                                          * self.l1(G('G_B', real_a), real_a))
            g_losses['loss_G_A'] = self.gan_loss(self.discriminator('D_A')(fake_b), True)
            g_losses['loss_G_B'] = self.gan_loss(self.discriminator('D_B')(fake_a), True)
            g_losses['loss_cycle_A'] = self.lambda_A * self.l1(rec_a, real_a)
            g_losses['loss_cycle_B'] = self.lambda_B * self.l1(rec_b, real_b)
            g_losses.update(DistillPairs.losses(pair_outputs))
        loss_g, log_vars = self.parse_named_losses(g_losses, 'loss_G')
        self.update('generators', g_optim, loss_g)

        self.discriminators.requires_grad_(True)
        with d_optim.optim_context(self.discriminators):
            d_losses = dict(
                loss_D_A=self._discriminator_loss('D_A', real_b, self.fake_B_pool.query(fake_b)),
                loss_D_B=self._discriminator_loss('D_B', real_a, self.fake_A_pool.query(fake_a)))
        loss_d, d_log = self.parse_named_losses(d_losses, 'loss_D')
        self.update('discriminators', d_optim, loss_d)
        log_vars.update(d_log)
        return log_vars

    def _discriminator_loss(self, name: str, real: Tensor, fake: Tensor) -> Tensor:
        """``0.5 * (GAN(D(real), real) + GAN(D(fake), fake))`` (official
        ``backward_D_basic``; ``fake`` comes detached from the pool)."""
        loss_real = self.gan_loss(self.discriminators(name, real), True)
        loss_fake = self.gan_loss(self.discriminators(name, fake.detach()), False)
        return 0.5 * (loss_real + loss_fake)


def _check_pair_students(pairs: Sequence[dict], position: str) -> None:
    """Every pair's student module must lie in the generator ``position`` distils."""
    generator, meaning = DISTILL_POSITIONS[position]
    for i, pair in enumerate(pairs):
        student = str(pair.get('student', ''))
        if student.split('.', 1)[0] != generator:
            raise ValueError(
                f'distill_pairs[{i}] records student module {student!r}, but '
                f'distill_position={position!r} ({meaning}) distils the call of {generator}: '
                f'name a module of {generator} (e.g. "{generator}.model.18", the last residual '
                'block of a 9-block ResnetGenerator), or change distill_position')

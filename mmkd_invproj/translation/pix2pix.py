# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Pix2Pix (Isola et al., CVPR 2017) on MMEngine, the colorization student of the paper."""
from typing import Dict

import torch
from mmengine.optim import OptimWrapperDict
from torch import Tensor

from ..distillers.pairs import DistillPairs
from ..registry import MODELS
from .base import BaseTranslationModel


@MODELS.register_module()
class Pix2Pix(BaseTranslationModel):
    """Conditional GAN G: A -> B with a PatchGAN D on the (A, B) pair.

    One training step is the official ``Pix2PixModel.optimize_parameters``:

    1. ``fake_B = G(real_A)`` (the distilled student call when ``distill_pairs`` are
       set: the pairs record G's features of this call, e.g. the encoder output
       ``'G.' + UnetGenerator.encoder_output``, and the teachers see real_A);
    2. discriminator step: ``loss_D = 0.5 * (GAN(D([A, fake_B.detach()]), fake) +
       GAN(D([A, B]), real))``, logged as ``loss_D_fake`` + ``loss_D_real`` (each
       already halved), one update of ``optim_wrapper['discriminators']``;
    3. generator step with D frozen: ``loss_G = GAN(D([A, fake_B]), real) +
       lambda_l1 * |fake_B - B|_1 (+ sum of loss_distill_*)``, one update of
       ``optim_wrapper['generators']`` (generator and projectors).

    Supplementary 6.4: vanilla GAN loss + 100 x L1. ``[A, B]`` is the channel
    concatenation, so D takes ``in_channels(A) + in_channels(B)`` channels.

    Args:
        generator (dict): Generator config (``UnetGenerator``, 'unet_256').
        discriminator (dict): Discriminator config (``NLayerDiscriminator`` on 6
            channels).
        gan_loss (dict): Defaults to the vanilla GAN loss.
        lambda_l1 (float): Weight of the L1 term. Defaults to 100.
        test_train_mode (bool): Predict in training mode (dropout and batch
            statistics), as the official ``test.py`` without ``--eval`` and MMagic's
            Pix2Pix (the batch norms' running statistics, which this mode never
            uses, are updated by the evaluation batches too). Defaults to True.
        **kwargs: :class:`BaseTranslationModel` arguments (``data_preprocessor``,
            ``teacher`` and the ``teacher_*`` keywords, ``teachers``,
            ``distill_pairs`` with student modules named ``'G.<module>'``,
            ``infer_input_size``).
    """

    def __init__(self, generator: dict, discriminator: dict,
                 gan_loss: dict = dict(type='GANLoss', gan_mode='vanilla'),
                 lambda_l1: float = 100.0, test_train_mode: bool = True, **kwargs) -> None:
        super().__init__(generators=dict(G=generator), discriminators=dict(D=discriminator),
                         gan_loss=gan_loss, default_generator='G',
                         test_train_mode=test_train_mode, **kwargs)
        self.lambda_l1 = lambda_l1
        self.calibrate('G')

    def train_step(self, data: dict, optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """One official Pix2Pix iteration (see the class docstring); returns the
        log variables (``loss_D_fake``, ``loss_D_real``, ``loss_D``, ``loss_G_GAN``,
        ``loss_G_L1``, ``loss_distill_*``, ``loss_G``)."""
        data = self.data_preprocessor(data, True)
        real_a, real_b = data['inputs']['A'], data['inputs']['B']
        g_optim, d_optim = optim_wrapper['generators'], optim_wrapper['discriminators']

        with g_optim.optim_context(self.generators):
            fake_b, pair_outputs = self.distilled_call(self.generators, 'G', real_a,
                                                       real_a=real_a)

        self.discriminators.requires_grad_(True)
        with d_optim.optim_context(self.discriminators):
            pred_fake = self.discriminators('D', torch.cat([real_a, fake_b.detach()], 1))
            pred_real = self.discriminators('D', torch.cat([real_a, real_b], 1))
            d_losses = dict(loss_D_fake=0.5 * self.gan_loss(pred_fake, False),
                            loss_D_real=0.5 * self.gan_loss(pred_real, True))
        loss_d, log_vars = self.parse_named_losses(d_losses, 'loss_D')
        self.update('discriminators', d_optim, loss_d)

        self.discriminators.requires_grad_(False)
        with g_optim.optim_context(self.generators):
            pred_fake = self.discriminator('D')(torch.cat([real_a, fake_b], 1))
            g_losses = dict(loss_G_GAN=self.gan_loss(pred_fake, True),
                            loss_G_L1=self.lambda_l1 * self.l1(fake_b, real_b),
                            **DistillPairs.losses(pair_outputs))
        loss_g, g_log = self.parse_named_losses(g_losses, 'loss_G')
        self.update('generators', g_optim, loss_g)
        self.discriminators.requires_grad_(True)
        log_vars.update(g_log)
        return log_vars

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The official training iterations written as plain PyTorch loops: the reference that
the tests compare :class:`Pix2Pix` and :class:`CycleGAN` with, parameter for
parameter, and that ``tools/analysis/benchmark_translation.py`` times them against.

Each function is ``optimize_parameters`` of junyanz/pytorch-CycleGAN-and-pix2pix
(``Pix2PixModel``: Isola et al., CVPR 2017; ``CycleGANModel``: Zhu et al., ICCV
2017) on preprocessed batches: the same calls in the same order, the losses written
out with ``torch.nn.functional`` (vanilla GAN = binary cross-entropy on logits,
LSGAN = mean squared error against the constant label).
"""
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .image_pool import ImagePool


def official_pix2pix_step(G: nn.Module, D: nn.Module,  # noqa: N803 (official names)
                          opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                          real_a: Tensor, real_b: Tensor,
                          lambda_l1: float = 100.0) -> Dict[str, Tensor]:
    """One ``Pix2PixModel.optimize_parameters``: ``fake_B = G(A)``; D step on
    ``0.5 (BCE(D([A, fake_B]), 0) + BCE(D([A, B]), 1))``; G step on
    ``BCE(D([A, fake_B]), 1) + lambda_l1 |fake_B - B|_1`` with D frozen.

    Args:
        G, D: The generator and the discriminator on the channel-concatenated pair.
        opt_g, opt_d: Their optimizers.
        real_a, real_b (Tensor): (B, C_A, H, W) and (B, C_B, H, W) network inputs.
        lambda_l1 (float): Weight of the L1 term (100, supplementary 6.4).

    Returns:
        dict: ``loss_D_fake``, ``loss_D_real`` (each already halved), ``loss_G_GAN``,
        ``loss_G_L1`` (detached scalars).
    """
    fake_b = G(real_a)
    D.requires_grad_(True)
    opt_d.zero_grad()
    pred_fake = D(torch.cat((real_a, fake_b), 1).detach())
    loss_d_fake = F.binary_cross_entropy_with_logits(pred_fake, torch.zeros_like(pred_fake))
    pred_real = D(torch.cat((real_a, real_b), 1))
    loss_d_real = F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real))
    ((loss_d_fake + loss_d_real) * 0.5).backward()
    opt_d.step()
    D.requires_grad_(False)
    opt_g.zero_grad()
    pred_fake = D(torch.cat((real_a, fake_b), 1))
    loss_g_gan = F.binary_cross_entropy_with_logits(pred_fake, torch.ones_like(pred_fake))
    loss_g_l1 = F.l1_loss(fake_b, real_b) * lambda_l1
    (loss_g_gan + loss_g_l1).backward()
    opt_g.step()
    return dict(loss_D_fake=0.5 * loss_d_fake.detach(), loss_D_real=0.5 * loss_d_real.detach(),
                loss_G_GAN=loss_g_gan.detach(), loss_G_L1=loss_g_l1.detach())


def official_cyclegan_step(G_A: nn.Module, G_B: nn.Module,  # noqa: N803 (official names)
                           D_A: nn.Module, D_B: nn.Module,
                           opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                           real_a: Tensor, real_b: Tensor,
                           fake_a_pool: Optional[ImagePool] = None,
                           fake_b_pool: Optional[ImagePool] = None,
                           lambda_a: float = 10.0, lambda_b: float = 10.0,
                           lambda_identity: float = 0.5) -> Dict[str, Tensor]:
    """One ``CycleGANModel.optimize_parameters``: the forward (``fake_B = G_A(A)``,
    ``rec_A = G_B(fake_B)``, ``fake_A = G_B(B)``, ``rec_B = G_A(fake_A)``), the
    generator step with D_A, D_B frozen (LSGAN + cycle + identity losses), then the
    discriminator step on the pooled fakes.

    Args:
        G_A, G_B, D_A, D_B: The networks (D_A judges domain B, D_B domain A).
        opt_g, opt_d: The optimizers of both generators and of both discriminators.
        real_a, real_b (Tensor): (B, 3, H, W) network inputs of each domain.
        fake_a_pool, fake_b_pool (ImagePool, optional): The image pools; None passes
            the batch through (a pool that is not full yet does the same).
        lambda_a, lambda_b (float): Cycle weights (10 each).
        lambda_identity (float): Identity weight relative to them (0.5).

    Returns:
        dict: ``loss_G_A``, ``loss_G_B``, ``loss_cycle_A``, ``loss_cycle_B``,
        ``loss_idt_A``, ``loss_idt_B``, ``loss_D_A``, ``loss_D_B`` (detached scalars).
    """
    fake_b = G_A(real_a)
    rec_a = G_B(fake_b)
    fake_a = G_B(real_b)
    rec_b = G_A(fake_a)
    D_A.requires_grad_(False)
    D_B.requires_grad_(False)
    opt_g.zero_grad()
    loss_idt_a = F.l1_loss(G_A(real_b), real_b) * lambda_b * lambda_identity
    loss_idt_b = F.l1_loss(G_B(real_a), real_a) * lambda_a * lambda_identity
    pred_a, pred_b = D_A(fake_b), D_B(fake_a)
    loss_g_a = F.mse_loss(pred_a, torch.ones_like(pred_a))
    loss_g_b = F.mse_loss(pred_b, torch.ones_like(pred_b))
    loss_cycle_a = F.l1_loss(rec_a, real_a) * lambda_a
    loss_cycle_b = F.l1_loss(rec_b, real_b) * lambda_b
    (loss_g_a + loss_g_b + loss_cycle_a + loss_cycle_b + loss_idt_a + loss_idt_b).backward()
    opt_g.step()
    D_A.requires_grad_(True)
    D_B.requires_grad_(True)
    opt_d.zero_grad()
    losses_d = []
    for D, real, fake, pool in ((D_A, real_b, fake_b, fake_b_pool),  # noqa: N806
                                (D_B, real_a, fake_a, fake_a_pool)):
        fake = pool.query(fake) if pool is not None else fake
        pred_real, pred_fake = D(real), D(fake.detach())
        loss = (F.mse_loss(pred_real, torch.ones_like(pred_real))
                + F.mse_loss(pred_fake, torch.zeros_like(pred_fake))) * 0.5
        loss.backward()
        losses_d.append(loss.detach())
    opt_d.step()
    return dict(loss_G_A=loss_g_a.detach(), loss_G_B=loss_g_b.detach(),
                loss_cycle_A=loss_cycle_a.detach(), loss_cycle_B=loss_cycle_b.detach(),
                loss_idt_A=loss_idt_a.detach(), loss_idt_B=loss_idt_b.detach(),
                loss_D_A=losses_d[0], loss_D_B=losses_d[1])

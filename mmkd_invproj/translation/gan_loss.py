# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The adversarial loss of Pix2Pix (vanilla) and CycleGAN (least squares)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..registry import MODELS

GAN_MODES = ('vanilla', 'lsgan', 'wgangp')


@MODELS.register_module()
class GANLoss(nn.Module):
    """Adversarial loss against a constant real/fake target, as the official ``GANLoss``.

    For discriminator outputs ``p`` (any shape) and the target label ``t``
    (``real_label`` or ``fake_label``, broadcast to ``p``):

    * ``'vanilla'`` (Goodfellow et al. 2014; Pix2Pix, supplementary 6.4): binary
      cross-entropy on logits, ``mean(-t log s(p) - (1 - t) log(1 - s(p)))``;
    * ``'lsgan'`` (Mao et al. 2017; CycleGAN): ``mean((p - t)^2)``;
    * ``'wgangp'`` (the critic term only): ``-mean(p)`` for real, ``mean(p)`` for fake.

    Args:
        gan_mode (str): ``'vanilla'``, ``'lsgan'`` or ``'wgangp'``.
        real_label (float): Target for real samples. Defaults to 1.0.
        fake_label (float): Target for fake samples. Defaults to 0.0.

    Raises:
        ValueError: for an unknown ``gan_mode``.
    """

    def __init__(self, gan_mode: str = 'lsgan', real_label: float = 1.0,
                 fake_label: float = 0.0) -> None:
        super().__init__()
        if gan_mode not in GAN_MODES:
            raise ValueError(f'gan_mode must be one of {GAN_MODES}, got {gan_mode!r}')
        self.gan_mode = gan_mode
        self.real_label = float(real_label)
        self.fake_label = float(fake_label)

    def forward(self, prediction: Tensor, target_is_real: bool) -> Tensor:
        """Scalar loss of the discriminator output ``prediction`` (logits, any shape)."""
        if self.gan_mode == 'wgangp':
            return -prediction.mean() if target_is_real else prediction.mean()
        prediction = prediction.float()  # the targets and the reduction in float32 (AMP)
        target = torch.full_like(prediction,
                                 self.real_label if target_is_real else self.fake_label)
        if self.gan_mode == 'vanilla':
            return F.binary_cross_entropy_with_logits(prediction, target)
        return F.mse_loss(prediction, target)

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The PatchGAN discriminator of Pix2Pix and CycleGAN, as in the official code."""
import torch.nn as nn
from torch import Tensor

from ..registry import MODELS
from .layers import conv_bias, init_gan_weights, norm_layer_factory


@MODELS.register_module()
class NLayerDiscriminator(nn.Module):
    """PatchGAN discriminator, ``define_D(netD='basic')`` of the official code.

    ``n_layers`` stride-2 4 x 4 convolutions (ndf, 2 ndf, 4 ndf, ... at most 8 ndf),
    one stride-1 4 x 4 convolution, then a stride-1 4 x 4 convolution to one channel:
    a map of real/fake logits, each seeing a 70 x 70 patch with ``n_layers=3``
    (30 x 30 logits for a 256 x 256 input). LeakyReLU(0.2) after each convolution but
    the last, the norm after each but the first and the last. No sigmoid: the
    ``'vanilla'`` :class:`GANLoss` takes logits. With ``ndf=64``, ``n_layers=3``:
    2,768,705 parameters for ``in_channels=6`` and ``norm='batch'`` (Pix2Pix, which
    judges the (input, output) pair concatenated), 2,764,737 for ``in_channels=3`` and
    ``norm='instance'`` (CycleGAN). Weights are initialised N(0, 0.02).

    Args:
        in_channels (int): Input channels (Pix2Pix: input + output channels).
        ndf (int): Channels of the first convolution. Defaults to 64.
        n_layers (int): Stride-2 convolutions. Defaults to 3 (70 x 70 PatchGAN).
        norm (str): ``'batch'`` (Pix2Pix), ``'instance'`` (CycleGAN) or ``'none'``.
        init_gain (float): Standard deviation of the initial weights.
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3,
                 norm: str = 'batch', init_gain: float = 0.02) -> None:
        super().__init__()
        norm_layer, bias = norm_layer_factory(norm), conv_bias(norm)
        layers = [nn.Conv2d(in_channels, ndf, kernel_size=4, stride=2, padding=1),
                  nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=stride,
                                 padding=1, bias=bias),
                       norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)
        init_gan_weights(self, init_gain)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) -> logits (B, 1, H', W') (H' = H / 8 - 2 for
        ``n_layers=3``)."""
        return self.model(x)

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The ResNet generator of CycleGAN (Zhu et al., ICCV 2017; Johnson et al., ECCV 2016),
as in the official code."""
import torch.nn as nn
from torch import Tensor

from ..registry import MODELS
from .layers import conv_bias, init_gan_weights, norm_layer_factory

PADDINGS = ('reflect', 'replicate', 'zero')


class ResnetBlock(nn.Module):
    """``x + [Pad, Conv3x3, Norm, ReLU, (Dropout 0.5), Pad, Conv3x3, Norm](x)``.

    The layers are one ``nn.Sequential`` named ``conv_block`` (official keys).

    Args:
        dim (int): Channels in and out.
        padding_type (str): ``'reflect'``, ``'replicate'`` or ``'zero'``.
        norm (str): ``'batch'``, ``'instance'`` or ``'none'``.
        use_dropout (bool): Dropout(0.5) between the two convolutions.

    Raises:
        ValueError: for an unknown ``padding_type``.
    """

    def __init__(self, dim: int, padding_type: str = 'reflect', norm: str = 'instance',
                 use_dropout: bool = False) -> None:
        super().__init__()
        if padding_type not in PADDINGS:
            raise ValueError(f'padding_type must be one of {PADDINGS}, got {padding_type!r}')
        norm_layer, bias = norm_layer_factory(norm), conv_bias(norm)

        def conv():
            if padding_type == 'zero':
                return [nn.Conv2d(dim, dim, kernel_size=3, padding=1, bias=bias)]
            pad = nn.ReflectionPad2d(1) if padding_type == 'reflect' else nn.ReplicationPad2d(1)
            return [pad, nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=bias)]

        layers = conv() + [norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += conv() + [norm_layer(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """(B, dim, H, W) -> (B, dim, H, W)."""
        return x + self.conv_block(x)


@MODELS.register_module()
class ResnetGenerator(nn.Module):
    """ResNet generator of CycleGAN, ``define_G(netG='resnet_9blocks')`` of the official code.

    ``c7s1-ngf, d2ngf, d4ngf`` (7 x 7 convolution, two stride-2 3 x 3 convolutions),
    ``n_blocks`` residual blocks at 4 ngf channels and 1/4 resolution, ``u2ngf, ungf``
    (stride-2 transposed 3 x 3 convolutions), ``c7s1-out`` and ``tanh``; each
    convolution but the last followed by the norm and ReLU, reflection padding. With
    ``in_channels=out_channels=3``, ``ngf=64``, ``n_blocks=9``, ``norm='instance'``:
    11,378,179 parameters. H and W must be multiples of 4 for the output to have the
    input's size. Weights are initialised N(0, 0.02) at construction.

    The layers are one ``nn.Sequential`` named ``model`` with the official indices, so
    official checkpoints load strictly.

    Args:
        in_channels (int): Input image channels.
        out_channels (int): Output image channels.
        ngf (int): Channels after the first convolution. Defaults to 64.
        n_blocks (int): Residual blocks (9 for ``resnet_9blocks``, 6 for
            ``resnet_6blocks``).
        norm (str): ``'instance'`` (CycleGAN), ``'batch'`` or ``'none'``.
        use_dropout (bool): Dropout in the residual blocks (CycleGAN: False).
        padding_type (str): Padding of the residual blocks.
        init_gain (float): Standard deviation of the initial weights.

    Attributes:
        in_channels (int): Input image channels.
        encoder_output (str): Name (in ``named_modules()``) of the last residual
            block, whose output (B, 4 ngf, H / 4, W / 4) is taken as the encoder's
            representation G_E(x): what the decoder (the two up-samplings and the
            output convolution) receives.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64,
                 n_blocks: int = 9, norm: str = 'instance', use_dropout: bool = False,
                 padding_type: str = 'reflect', init_gain: float = 0.02) -> None:
        super().__init__()
        if n_blocks < 1:
            raise ValueError(f'n_blocks must be >= 1, got {n_blocks}')
        norm_layer, bias = norm_layer_factory(norm), conv_bias(norm)
        layers = [nn.ReflectionPad2d(3),
                  nn.Conv2d(in_channels, ngf, kernel_size=7, padding=0, bias=bias),
                  norm_layer(ngf), nn.ReLU(True)]
        for mult in (1, 2):  # two down-samplings
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2,
                                 padding=1, bias=bias),
                       norm_layer(ngf * mult * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4, padding_type, norm, use_dropout)
                   for _ in range(n_blocks)]
        self.encoder_output = f'model.{len(layers) - 1}'
        for mult in (4, 2):  # two up-samplings
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, kernel_size=3, stride=2,
                                          padding=1, output_padding=1, bias=bias),
                       norm_layer(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, kernel_size=7, padding=0),
                   nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.in_channels = in_channels
        init_gan_weights(self, init_gain)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) in [-1, 1] -> (B, out_channels, H, W) in [-1, 1]."""
        return self.model(x)

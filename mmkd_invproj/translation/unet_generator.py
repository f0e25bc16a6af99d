# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The U-Net generator of Pix2Pix (Isola et al., CVPR 2017), as in the official code."""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from ..registry import MODELS
from .layers import conv_bias, init_gan_weights, norm_layer_factory


class UnetSkipConnectionBlock(nn.Module):
    """One level of the U-Net: down-sample, the inner levels, up-sample, skip.

    ``x -> [LeakyReLU(0.2), Conv4x4/2, Norm] -> inner -> [ReLU, ConvT4x4/2, Norm]``
    concatenated with ``x`` along the channels (``outer + outer`` channels out), the
    layers kept in one ``nn.Sequential`` named ``model`` with the official order and
    indices (``model.1`` is the down-convolution of an inner level, ``model.3`` the
    next level):

    * outermost: ``[Conv, inner, ReLU, ConvT, Tanh]`` and no skip (the image out);
    * innermost: ``[LeakyReLU, Conv, ReLU, ConvT, Norm]`` (no norm after its
      down-convolution: the 1 x 1 bottleneck of ``unet_256``);
    * the others: ``[LeakyReLU, Conv, Norm, inner, ReLU, ConvT, Norm(, Dropout 0.5)]``.

    Args:
        outer_nc (int): Channels of this level's input and of its up-sampled output.
        inner_nc (int): Channels after the down-convolution.
        input_nc (int, optional): Input channels when they differ from ``outer_nc``
            (the image channels at the outermost level).
        submodule (nn.Module, optional): The next inner level (None when innermost).
        outermost (bool): This is the first level.
        innermost (bool): This is the last level.
        norm (str): ``'batch'``, ``'instance'`` or ``'none'``.
        use_dropout (bool): Dropout(0.5) after the up-sampling (middle levels only).
    """

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: Optional[int] = None,
                 submodule: Optional[nn.Module] = None, outermost: bool = False,
                 innermost: bool = False, norm: str = 'batch',
                 use_dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        norm_layer, bias = norm_layer_factory(norm), conv_bias(norm)
        input_nc = outer_nc if input_nc is None else input_nc
        down_conv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=bias)
        if outermost:
            layers = [down_conv, submodule, nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2,
                                         padding=1),
                      nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2,
                                         padding=1, bias=bias),
                      norm_layer(outer_nc)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down_conv, norm_layer(inner_nc), submodule,
                      nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2,
                                         padding=1, bias=bias),
                      norm_layer(outer_nc)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """(B, outer_nc or input_nc, H, W) -> (B, 2 * outer_nc, H, W), or the image
        (B, outer_nc, H, W) in [-1, 1] at the outermost level."""
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


@MODELS.register_module()
class UnetGenerator(nn.Module):
    """U-Net generator of Pix2Pix, ``define_G(netG='unet_256')`` of the official code.

    ``num_downs`` stride-2 levels take an H x W input to (H / 2^num_downs) x (W /
    2^num_downs) at the bottleneck: ``unet_256`` (``num_downs=8``) needs H and W
    multiples of 256 and has a 1 x 1 bottleneck for 256 x 256 inputs; ``unet_128``
    is ``num_downs=7``. Channels: ngf, 2 ngf, 4 ngf, then 8 ngf for the remaining
    levels; Dropout(0.5) after the up-sampling of the ``num_downs - 5`` middle 8 ngf
    levels (not the innermost). With ``in_channels=out_channels=3``, ``ngf=64``,
    ``norm='batch'``: 54,413,955 parameters. Output through ``tanh``, in [-1, 1].
    Weights are initialised N(0, 0.02) at construction (:func:`init_gan_weights`).

    The state-dict keys are those of the official ``UnetGenerator``, so official
    checkpoints (``latest_net_G.pth``) load strictly.

    Args:
        in_channels (int): Input image channels (3 for RGB, 1 for Lab's L).
        out_channels (int): Output image channels (3 for RGB, 2 for Lab's ab).
        num_downs (int): Number of down-samplings (>= 5).
        ngf (int): Channels after the first convolution. Defaults to 64.
        norm (str): ``'batch'`` (Pix2Pix), ``'instance'`` or ``'none'``.
        use_dropout (bool): Dropout in the inner levels. Defaults to True (Pix2Pix).
        init_gain (float): Standard deviation of the initial weights.

    Attributes:
        in_channels (int): Input image channels.
        encoder_output (str): Name (in ``named_modules()``) of the innermost
            down-convolution, whose output is the encoder's representation
            G_E(x) (the (B, 8 ngf, H / 2^num_downs, W / 2^num_downs) bottleneck).

    Raises:
        ValueError: for ``num_downs < 5`` or an unknown ``norm``.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, num_downs: int = 8,
                 ngf: int = 64, norm: str = 'batch', use_dropout: bool = True,
                 init_gain: float = 0.02) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f'num_downs must be >= 5 (ngf .. 8 ngf levels), got {num_downs}')
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, norm=norm, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm=norm,
                                            use_dropout=use_dropout)
        for mult in (4, 2, 1):
            block = UnetSkipConnectionBlock(ngf * mult, ngf * mult * 2, submodule=block,
                                            norm=norm)
        self.model = UnetSkipConnectionBlock(out_channels, ngf, input_nc=in_channels,
                                             submodule=block, outermost=True, norm=norm)
        self.in_channels, self.num_downs = in_channels, num_downs
        # outermost: model.model = [conv, level 2, ...]; level k: model.3 = level k + 1
        self.encoder_output = 'model.model.1' + '.model.3' * (num_downs - 2) + '.model.1'
        init_gan_weights(self, init_gain)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) in [-1, 1] -> (B, out_channels, H, W) in [-1, 1]."""
        divisor = 2 ** self.num_downs
        if x.shape[-2] % divisor or x.shape[-1] % divisor:
            raise ValueError(f'UnetGenerator(num_downs={self.num_downs}) needs H and W '
                             f'multiples of {divisor}, got {tuple(x.shape[-2:])}')
        return self.model(x)

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Normalisation layers and weight initialisation of the Pix2Pix / CycleGAN networks.

Both follow the official implementation of Isola et al. (CVPR 2017, Pix2Pix) and Zhu et
al. (ICCV 2017, CycleGAN), junyanz/pytorch-CycleGAN-and-pix2pix, so that parameter
counts, state-dict keys and the initial weight distribution are those of the networks
the paper trained (supplementary 6.3.3).
"""
import functools
from typing import Callable

import torch.nn as nn

#: values of the ``norm`` argument of every translation network
NORMS = ('batch', 'instance', 'none')


def norm_layer_factory(norm: str) -> Callable[[int], nn.Module]:
    """A constructor ``f(num_channels) -> nn.Module`` for the named normalisation.

    * ``'batch'``: ``BatchNorm2d`` with affine parameters and running statistics
      (Pix2Pix);
    * ``'instance'``: ``InstanceNorm2d`` without affine parameters and without running
      statistics (CycleGAN);
    * ``'none'``: ``nn.Identity``.

    Raises:
        ValueError: for another name (lists the valid ones).
    """
    if norm == 'batch':
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm == 'instance':
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if norm == 'none':
        return lambda num_channels: nn.Identity()
    raise ValueError(f'norm must be one of {NORMS}, got {norm!r}')


def conv_bias(norm: str) -> bool:
    """Whether a convolution followed by this normalisation has a bias.

    As in the official code: only before instance norm (a batch norm's shift makes a
    bias redundant; with ``'none'`` the official code also leaves it out).
    """
    return norm == 'instance'


def init_gan_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """Initialise a network as the official ``init_weights(net, 'normal', 0.02)``.

    Every ``Conv*`` / ``ConvTranspose*`` / ``Linear`` weight is drawn from
    N(0, gain^2) and its bias set to 0; every ``BatchNorm2d`` weight from
    N(1, gain^2) and its bias set to 0. Instance norms have no parameters.

    Args:
        net (nn.Module): The network, modified in place.
        gain (float): Standard deviation of the normal distribution. Defaults to 0.02.

    Returns:
        nn.Module: ``net``.
    """
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, gain)
            nn.init.zeros_(module.bias)
    return net

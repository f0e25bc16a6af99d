"""The translation networks against the official pytorch-CycleGAN-and-pix2pix ones:
parameter counts, state-dict keys, shapes, output range, initialisation, losses, pool,
colour conversion."""
import math
import random

import pytest
import torch

from mmkd_invproj.translation import (GANLoss, ImagePool, NLayerDiscriminator, ResnetGenerator,
                                      UnetGenerator, lab_to_rgb, rgb_to_lab)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_equal_the_official_networks():
    # unet_256 (batch norm, dropout), 3 -> 3
    assert n_params(UnetGenerator(3, 3, num_downs=8, norm='batch', use_dropout=True)) == 54_413_955
    # 70x70 PatchGAN on the concatenated (input, output) pair, batch norm (Pix2Pix)
    assert n_params(NLayerDiscriminator(6, n_layers=3, norm='batch')) == 2_768_705
    # resnet_9blocks, instance norm (CycleGAN)
    assert n_params(ResnetGenerator(3, 3, n_blocks=9, norm='instance')) == 11_378_179
    # PatchGAN on one image, instance norm (CycleGAN)
    assert n_params(NLayerDiscriminator(3, n_layers=3, norm='instance')) == 2_764_737


def test_state_dict_keys_follow_the_official_layout():
    unet = UnetGenerator(3, 3, num_downs=5, ngf=4).state_dict()
    # outermost: [down conv, level 2, ReLU, up conv, Tanh]; inner: [LReLU, conv, BN, next, ...]
    for key in ('model.model.0.weight', 'model.model.3.weight', 'model.model.3.bias',
                'model.model.1.model.1.weight', 'model.model.1.model.2.running_mean',
                'model.model.1.model.3.model.3.model.3.model.1.weight'):
        assert key in unet, key
    # convolutions before a batch norm have no bias; the outermost up-convolution has one
    assert 'model.model.0.bias' not in unet and 'model.model.1.model.1.bias' not in unet
    resnet = ResnetGenerator(3, 3, ngf=4, n_blocks=9).state_dict()
    for key in ('model.1.weight', 'model.4.weight', 'model.10.conv_block.1.weight',
                'model.18.conv_block.5.bias', 'model.19.weight', 'model.26.weight'):
        assert key in resnet, key
    # instance norm without affine parameters or running statistics
    assert not any('running' in k for k in resnet)
    disc = NLayerDiscriminator(6, ndf=4).state_dict()
    assert sorted({k.split('.')[1] for k in disc}, key=int) == ['0', '2', '3', '5', '6', '8',
                                                                 '9', '11']


def test_unet_shapes_range_and_bottleneck():
    torch.manual_seed(0)
    net = UnetGenerator(3, 3, num_downs=8, ngf=4).eval()
    modules = dict(net.named_modules())
    feats = {}
    modules[net.encoder_output].register_forward_hook(lambda m, i, o: feats.setdefault('z', o))
    x = torch.rand(2, 3, 256, 256) * 2 - 1
    y = net(x)
    assert y.shape == x.shape
    assert y.abs().max() <= 1.0  # tanh
    assert feats['z'].shape == (2, 32, 1, 1)  # the 1 x 1 x 8 ngf bottleneck of unet_256
    with pytest.raises(ValueError, match='multiples of 256'):
        net(torch.zeros(1, 3, 128, 128))


def test_unet_dropout_only_in_the_middle_levels():
    net = UnetGenerator(3, 3, num_downs=8, ngf=4, use_dropout=True)
    n_dropout = sum(isinstance(m, torch.nn.Dropout) for m in net.modules())
    assert n_dropout == 3  # num_downs - 5 middle 8 ngf levels


def test_resnet_generator_shapes_range_and_encoder_output():
    torch.manual_seed(0)
    net = ResnetGenerator(3, 3, ngf=8, n_blocks=9)
    assert net.encoder_output == 'model.18'
    feats = {}
    dict(net.named_modules())['model.18'].register_forward_hook(
        lambda m, i, o: feats.setdefault('z', o))
    x = torch.rand(2, 3, 64, 48) * 2 - 1
    y = net(x)
    assert y.shape == x.shape and y.abs().max() <= 1.0
    assert feats['z'].shape == (2, 32, 16, 12)  # 4 ngf at 1/4 resolution


def test_patch_discriminator_output_grid():
    d = NLayerDiscriminator(6, ndf=4)
    assert d(torch.zeros(1, 6, 256, 256)).shape == (1, 1, 30, 30)  # 70 x 70 patches


def test_initialisation_is_normal_0_002():
    torch.manual_seed(0)
    net = UnetGenerator(3, 3, num_downs=8, ngf=16, norm='batch')
    convs = torch.cat([m.weight.flatten() for m in net.modules()
                       if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))])
    assert abs(convs.mean().item()) < 1e-4 and abs(convs.std().item() - 0.02) < 2e-4
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    gammas = torch.cat([m.weight for m in bns])
    assert abs(gammas.mean().item() - 1.0) < 5e-3 and abs(gammas.std().item() - 0.02) < 5e-3
    assert all(float(m.bias.detach().abs().max()) == 0 for m in bns)
    biases = [m.bias for m in net.modules() if isinstance(m, torch.nn.ConvTranspose2d)
              and m.bias is not None]
    assert biases and all(float(b.detach().abs().max()) == 0 for b in biases)


def test_gan_losses_against_their_formulas():
    p = torch.tensor([[-2.0, 0.5], [1.5, 3.0]])
    sig = 1 / (1 + torch.exp(-p))
    vanilla, lsgan = GANLoss('vanilla'), GANLoss('lsgan')
    assert torch.allclose(vanilla(p, True), (-torch.log(sig)).mean())
    assert torch.allclose(vanilla(p, False), (-torch.log(1 - sig)).mean())
    assert torch.allclose(lsgan(p, True), ((p - 1) ** 2).mean())
    assert torch.allclose(lsgan(p, False), (p ** 2).mean())
    with pytest.raises(ValueError, match='gan_mode'):
        GANLoss('hinge')


def test_image_pool_fills_then_swaps_half_the_time():
    random.seed(0)
    pool = ImagePool(4)
    first = torch.arange(4.).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling: returned as they are
    new = torch.arange(10., 210.).view(200, 1, 1, 1)
    out = pool.query(new).flatten()
    swapped = int((out != new.flatten()).sum())
    # each new image is swapped for a stored one with probability 1/2 (Binomial(200, 1/2))
    assert 70 < swapped < 130
    # a swapped-out image leaves the pool: no image comes back twice
    assert len(set(out.tolist())) == 200 and set(out.tolist()) <= set(range(0, 210))
    assert len(pool.images) == 4
    assert torch.equal(ImagePool(0).query(first), first)


def test_lab_conversion_reference_values_and_round_trip():
    rgb = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]).view(3, 3, 1, 1)
    lab = rgb_to_lab(rgb).view(3, 3)
    # CIE L*a*b* (D65) of sRGB white, red and black
    assert torch.allclose(lab[0], torch.tensor([100.0, 0.0, 0.0]), atol=0.01)
    assert torch.allclose(lab[1], torch.tensor([53.24, 80.09, 67.20]), atol=0.02)
    assert torch.allclose(lab[2], torch.zeros(3), atol=1e-4)
    torch.manual_seed(0)
    colours = torch.rand(2, 3, 8, 8)
    assert torch.allclose(lab_to_rgb(rgb_to_lab(colours)), colours, atol=1e-4)
    assert math.isclose(float(rgb_to_lab(torch.full((1, 3, 1, 1), 0.5))[0, 0]), 53.39, abs_tol=0.01)

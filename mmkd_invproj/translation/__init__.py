# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Image-to-image translation students of the paper (supplementary 6.3.3, 6.4, 6.7, 6.12):
Pix2Pix (colorization) and CycleGAN (satellite-to-map) on MMEngine, with the official
networks, data layout and metrics (PSNR, FID), distilled through the shared core
(``FrozenTeacher``, ``DistillPairs``) as ``CrossTaskDistiller`` is."""
from .base import BaseTranslationModel, NetworkDict
from .colour import lab_to_rgb, rgb_to_lab
from .cyclegan import CycleGAN
from .data_preprocessor import TranslationDataPreprocessor
from .dataset import TranslationDataset
from .fid import FIDMetric, frechet_distance
from .gan_loss import GANLoss
from .image_pool import ImagePool
from .layers import init_gan_weights
from .optim_constructor import TranslationOptimWrapperConstructor
from .patch_discriminator import NLayerDiscriminator
from .pix2pix import Pix2Pix
from .psnr import PSNRMetric, psnr
from .resnet_generator import ResnetBlock, ResnetGenerator
from .transforms import LoadTranslationImages, PackTranslationInputs, TranslationResizeCrop
from .unet_generator import UnetGenerator, UnetSkipConnectionBlock
from .visualization_hook import TranslationVisualizationHook

__all__ = [
    'BaseTranslationModel', 'NetworkDict', 'Pix2Pix', 'CycleGAN', 'UnetGenerator',
    'UnetSkipConnectionBlock', 'ResnetGenerator', 'ResnetBlock', 'NLayerDiscriminator', 'GANLoss',
    'ImagePool', 'init_gan_weights', 'TranslationDataPreprocessor', 'TranslationDataset',
    'LoadTranslationImages', 'TranslationResizeCrop', 'PackTranslationInputs', 'PSNRMetric',
    'psnr', 'FIDMetric', 'frechet_distance', 'TranslationOptimWrapperConstructor',
    'TranslationVisualizationHook', 'rgb_to_lab', 'lab_to_rgb'
]

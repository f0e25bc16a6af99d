# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Data pipeline of the translation datasets: decode the two domains, resize and crop
them as the official ``resize_and_crop`` preprocessing, pack them for the model."""
import random
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement
from PIL import Image

from ..registry import TRANSFORMS

MODES = ('aligned', 'colorization')
DIRECTIONS = ('AtoB', 'BtoA')
HALVES = (None, 'left', 'right')


def _pair(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, (int, float)) else tuple(map(int, size))


@TRANSFORMS.register_module()
class LoadTranslationImages(BaseTransform):
    """Decode domain A and domain B of a sample as uint8 RGB arrays (H, W, 3).

    * ``'aligned'`` (the official ``aligned`` dataset): the file holds A|B side by
      side; A is the left half (``[0, w // 2)``), B the right half. ``'BtoA'`` swaps
      them (the official ``--direction BtoA``; e.g. label -> photo on Facades).
    * ``'colorization'``: B is the colour image (or its ``half``: ``'left'`` is the
      photo of a Facades A|B file), A the same image in grey (PIL's ``convert('L')``,
      ITU-R 601 luma), repeated on 3 channels so it is an RGB image.

    With ``img_path_B`` in the sample (an unpaired dataset), domain B is decoded from
    that file instead of ``img_path``.

    Adds ``img_A``, ``img_B``, ``ori_shape`` (H, W of domain A).

    Args:
        mode (str): ``'aligned'`` or ``'colorization'``.
        direction (str): ``'AtoB'`` or ``'BtoA'`` (aligned mode).
        half (str, optional): Colorization of one half of an A|B file: ``'left'`` or
            ``'right'``; None: the whole image.

    Raises:
        ValueError: for unknown ``mode`` / ``direction`` / ``half``.
    """

    def __init__(self, mode: str = 'aligned', direction: str = 'AtoB',
                 half: Optional[str] = None) -> None:
        for name, value, valid in (('mode', mode, MODES), ('direction', direction, DIRECTIONS),
                                   ('half', half, HALVES)):
            if value not in valid:
                raise ValueError(f'{name} must be one of {valid}, got {value!r}')
        self.mode, self.direction, self.half = mode, direction, half

    @staticmethod
    def _split(image: Image.Image) -> Tuple[Image.Image, Image.Image]:
        w, h = image.size
        return image.crop((0, 0, w // 2, h)), image.crop((w // 2, 0, w, h))

    def _domains(self, path: str) -> Dict[str, Image.Image]:
        with Image.open(path) as f:
            image = f.convert('RGB')
        if self.mode == 'aligned':
            a, b = self._split(image)
            return dict(A=a, B=b) if self.direction == 'AtoB' else dict(A=b, B=a)
        if self.half is not None:
            image = self._split(image)[0 if self.half == 'left' else 1]
        return dict(A=image.convert('L').convert('RGB'), B=image)

    def transform(self, results: dict) -> dict:
        domains = self._domains(results['img_path'])
        if results.get('img_path_B'):
            domains['B'] = self._domains(results['img_path_B'])['B']
        results['img_A'] = np.asarray(domains['A'], dtype=np.uint8)
        results['img_B'] = np.asarray(domains['B'], dtype=np.uint8)
        results['ori_shape'] = results['img_A'].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mode={self.mode!r}, direction={self.direction!r}, '
                f'half={self.half!r})')


@TRANSFORMS.register_module()
class TranslationResizeCrop(BaseTransform):
    """Resize to ``load_size`` (bicubic), crop ``crop_size`` at a random position, flip
    horizontally with probability 1/2: the official ``resize_and_crop`` preprocessing
    (training: 286 -> 256 crop with flips; testing: ``load_size = crop_size = 256``,
    no flip).

    Args:
        load_size (int | tuple[int, int]): Size (H, W) after resizing (an int: square,
            as the official code, which does not keep the aspect ratio).
        crop_size (int | tuple[int, int]): Size (H, W) of the crop.
        flip (bool): Random horizontal flips.
        shared (bool): One crop position and flip for all ``keys`` (paired data);
            False draws them per key (unpaired data, as the official unaligned mode).
        keys (Sequence[str]): The images to transform.

    Raises:
        ValueError: when the crop is larger than the resized image.
    """

    def __init__(self, load_size: Union[int, Sequence[int]] = 286,
                 crop_size: Union[int, Sequence[int]] = 256, flip: bool = True,
                 shared: bool = True, keys: Sequence[str] = ('img_A', 'img_B')) -> None:
        self.load_size, self.crop_size = _pair(load_size), _pair(crop_size)
        if any(c > s for c, s in zip(self.crop_size, self.load_size)):
            raise ValueError(f'crop_size {self.crop_size} exceeds load_size {self.load_size}')
        self.flip, self.shared, self.keys = flip, shared, tuple(keys)

    def _params(self) -> Tuple[int, int, bool]:
        (lh, lw), (ch, cw) = self.load_size, self.crop_size
        return (random.randint(0, lh - ch), random.randint(0, lw - cw),
                self.flip and random.random() > 0.5)

    def transform(self, results: dict) -> dict:
        # drawn also when shared=False (then unused): dropping it would shift Python's
        # random sequence, and so every crop of the unpaired runs and the demo figures
        params = self._params()
        (lh, lw), (ch, cw) = self.load_size, self.crop_size
        for key in self.keys:
            y, x, flip = params if self.shared else self._params()
            image = Image.fromarray(results[key]).resize((lw, lh), Image.BICUBIC)
            image = np.asarray(image)[y:y + ch, x:x + cw]
            results[key] = np.ascontiguousarray(image[:, ::-1] if flip else image)
        results['img_shape'] = self.crop_size
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(load_size={self.load_size}, crop_size={self.crop_size}, '
                f'flip={self.flip}, shared={self.shared})')


@TRANSFORMS.register_module()
class PackTranslationInputs(BaseTransform):
    """``dict(inputs=dict(A=uint8 (C, H, W), B=...), data_samples=BaseDataElement)``.

    Args:
        meta_keys (Sequence[str]): Result keys copied into the sample's metainfo
            (those present).
    """

    def __init__(self, meta_keys: Sequence[str] = ('img_path', 'img_path_B', 'ori_shape',
                                                   'img_shape', 'sample_idx')) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        inputs = {}
        for domain in ('A', 'B'):
            image = results.get(f'img_{domain}')
            if image is not None:
                inputs[domain] = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
        sample = BaseDataElement(
            metainfo={k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)

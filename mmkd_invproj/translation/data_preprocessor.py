# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Batches of image pairs -> network tensors, and network outputs -> 8-bit images."""
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.runner.amp import autocast
from torch import Tensor

from ..registry import MODELS
from .colour import lab_to_rgb, rgb_to_lab

COLOUR_SPACES = ('rgb', 'lab')
#: the normalisation of :meth:`TranslationDataPreprocessor.teacher_input` on the 0-255
#: scale (``x = p / 127.5 - 1``), what a frozen teacher is told it receives
#: (``FrozenTeacher.set_input_norm``)
TEACHER_INPUT_NORM = dict(mean=[127.5] * 3, std=[127.5] * 3)


@MODELS.register_module()
class TranslationDataPreprocessor(BaseDataPreprocessor):
    """Stack the two domains of a batch and scale them as the official code does.

    Input (from :class:`PackTranslationInputs` and MMEngine's ``pseudo_collate``):
    ``dict(inputs=dict(A=[uint8 (C, H, W) RGB, ...], B=[...]), data_samples=[...])``.
    Output: ``dict(inputs=dict(A=Tensor, B=Tensor), data_samples=[...])`` on the
    model's device, with, by ``colour_space``:

    * ``'rgb'``: each domain ``x / 127.5 - 1`` in [-1, 1], (B, 3, H, W) (the official
      ``ToTensor`` + ``Normalize(0.5, 0.5)``);
    * ``'lab'`` (the official colorization dataset, L -> ab): from the colour image of
      domain B, ``A = L / 50 - 1`` (B, 1, H, W) and ``B = ab / 110`` (B, 2, H, W); the
      grey image of domain A is not used (its L is the colour image's L).

    :meth:`to_uint8` and :meth:`teacher_input` invert this, so the rest of the model
    never deals with colour spaces.

    Args:
        colour_space (str): ``'rgb'`` or ``'lab'``. Defaults to ``'rgb'``.
        non_blocking (bool): Non-blocking host-to-device copies.

    Raises:
        ValueError: for an unknown colour space.
    """

    def __init__(self, colour_space: str = 'rgb', non_blocking: bool = False) -> None:
        super().__init__(non_blocking)
        if colour_space not in COLOUR_SPACES:
            raise ValueError(f'colour_space must be one of {COLOUR_SPACES}, got {colour_space!r}')
        self.colour_space = colour_space

    @staticmethod
    def _stack(images: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        batch = images if isinstance(images, Tensor) else torch.stack(list(images))
        return batch.float() / 127.5 - 1.0

    def forward(self, data: dict, training: bool = False) -> dict:
        """Scale the batch; see the class docstring for the layout.

        Raises:
            KeyError: in ``'lab'`` mode without domain B (the colour image).
        """
        data = self.cast_data(data)
        inputs: Dict[str, Tensor] = {k: self._stack(v) for k, v in data['inputs'].items()}
        if self.colour_space == 'lab':
            if 'B' not in inputs:
                raise KeyError("colour_space='lab' takes L and ab from the colour image of "
                               "domain B; the batch has only " + str(sorted(inputs)))
            lab = rgb_to_lab((inputs['B'] + 1) / 2)
            inputs = dict(A=lab[:, :1] / 50.0 - 1.0, B=lab[:, 1:] / 110.0)
        return dict(inputs=inputs, data_samples=data.get('data_samples'))

    def to_rgb(self, x: Tensor, domain: str, source: Optional[Tensor] = None) -> Tensor:
        """Network tensor of a domain -> RGB in [0, 1], (B, 3, H, W) float32.

        Args:
            x (Tensor): Network input or output of ``domain``.
            domain (str): ``'A'`` or ``'B'``.
            source (Tensor, optional): In ``'lab'`` mode, the domain-A tensor (L) the
                ab of ``x`` belongs to (required for domain B).
        """
        x = x.float()
        if self.colour_space == 'rgb':
            return ((x + 1) / 2).clamp(0, 1)
        if domain == 'A':
            lightness = (x + 1) * 50.0
            return lab_to_rgb(torch.cat([lightness, torch.zeros_like(x).repeat(1, 2, 1, 1)], 1))
        if source is None:
            raise ValueError("colour_space='lab': the ab output needs its L (source=)")
        return lab_to_rgb(torch.cat([(source.float() + 1) * 50.0, x * 110.0], 1))

    def to_uint8(self, x: Tensor, domain: str, source: Optional[Tensor] = None) -> Tensor:
        """Network tensor -> uint8 RGB (B, 3, H, W), rounded (what a saved PNG holds)."""
        return (self.to_rgb(x, domain, source) * 255.0).round().to(torch.uint8)

    def teacher_input(self, real_a: Tensor) -> Tensor:
        """The real input x as an RGB image in [-1, 1], (B, 3, H, W): what the frozen
        teachers are given (normalised as :data:`TEACHER_INPUT_NORM`).

        Args:
            real_a (Tensor): Domain A as the network sees it, (B, 3, H, W) in
                ``'rgb'`` mode (returned as it is), (B, 1, H, W) L in ``'lab'`` mode.

        Returns:
            Tensor: (B, 3, H, W); in ``'lab'`` mode a float32 conversion to RGB, with
            autocast off (MMEngine's ``autocast(enabled=False)``), so it is the same
            inside a training step's autocast as outside it.
        """
        if self.colour_space == 'rgb':
            return real_a
        with autocast(device_type=real_a.device.type, enabled=False):
            return self.to_rgb(real_a, 'A') * 2 - 1

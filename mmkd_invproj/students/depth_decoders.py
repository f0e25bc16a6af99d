# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Depth student decoders of the paper (supplementary 6.3.1) as an MMSeg head.

The paper's depth students pair a MobileNetV2 encoder with one of three small
skip-connection decoders (``Decoder``, ``Decoder_d12``, ``ULightDecoder_skip_4b``).
All three are built by the single registered head :class:`SkipDecoderDepthHead`,
selected by its ``decoder`` argument, so a student is MMSeg's ``DepthEstimator``::

    model = dict(
        type='DepthEstimator',
        backbone=dict(type='MobileNetV2', widen_factor=0.5,
                      strides=(1, 2, 2, 2, 1, 2, 1),
                      dilations=(1, 1, 1, 1, 1, 1, 1),
                      out_indices=(0, 1, 2, 4, 6)),
        decode_head=dict(type='SkipDecoderDepthHead',
                         in_channels=[8, 16, 16, 48, 160],
                         in_index=[0, 1, 2, 3, 4],
                         decoder='Decoder', channels=256, max_depth=10.0))
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.utils import SampleList
from torch import Tensor

# Registers ``ScaleInvariantLogLoss``, the head's default ``loss_decode``.
from ..losses.silog import ScaleInvariantLogLoss  # noqa: F401
from ..registry import MODELS
from ..utils.annotations import missing_annotation_message

__all__ = ['DEPTH_DECODERS', 'SkipDecoderDepthHead']

#: Names of the depth decoder architectures of supplementary 6.3.1.
DEPTH_DECODERS: Tuple[str, ...] = ('Decoder', 'Decoder_d12', 'ULightDecoder_skip_4b')

# decoder name -> (number of blocks, convs per block, second conv depthwise)
_DECODER_SPECS: Dict[str, Tuple[int, int, bool]] = {
    'Decoder': (6, 2, False),
    'Decoder_d12': (6, 2, True),
    'ULightDecoder_skip_4b': (4, 1, False),
}


@MODELS.register_module()
class SkipDecoderDepthHead(BaseDecodeHead):
    """Skip-connection depth decoders of the paper's depth students.

    Source: supplementary 6.3.1 of Auty et al., BMVC 2024:

    * ``'Decoder'``: Conv1x1, then 6 blocks of (LeakyReLU + Conv3x3 + LeakyReLU +
      Conv3x3); at the input of every block an encoder skip connection is
      bilinearly upsampled to the feature resolution and concatenated.
    * ``'Decoder_d12'``: as ``'Decoder'`` but the second Conv3x3 of each block is
      depthwise (``groups == channels``).
    * ``'ULightDecoder_skip_4b'``: Conv1x1, then 4 blocks of (LeakyReLU +
      Conv3x3), each receiving an upsampled, concatenated skip.

    Design choices filling the paper's gaps (the paper gives neither widths,
    resolutions, skip assignment nor the output layer):

    1. The deepest selected feature (stride 32 for the MobileNetV2 student) goes
       through the Conv1x1 to ``channels`` channels.
    2. Block ``i`` (0-based) first upsamples the running features x2 bilinearly
       (not for block 0), then concatenates the *matching* encoder skip: the
       selected feature whose stride is closest (in log2) to the running stride,
       bilinearly resized to the running resolution. Block 0 therefore takes the
       stride-32 feature itself as its skip. When the skip's stride equals the
       running stride the x2 upsampling targets the skip's exact size, so odd
       input sizes (e.g. 15 x 20 at stride 32 for 480 x 640) stay aligned.
    3. Running resolutions: 6 blocks -> strides 32, 16, 8, 4, 2, 1 (full
       resolution; the stride-1 block reuses the stride-2 skip); 4 blocks ->
       strides 32, 16, 8, 4, and the (B, 1, H/4, W/4) prediction is resized to the
       input by :meth:`predict_by_feat` / to the ground truth by
       :meth:`loss_by_feat`.
    4. Width: block ``i`` outputs ``max(channels // 2 ** (i + 1), min_channels)``
       channels; its first Conv3x3 maps ``width_in + skip_channels`` to that
       width, the second (if any) keeps it. E.g. ``channels=256``: 256 -> 128,
       64, 32, 16, 16, 16.
    5. No normalisation layers (the paper lists none); all convs have biases.
    6. LeakyReLU slope ``negative_slope=0.2`` (not given in the paper).
    7. Output: a final Conv3x3 (the head's ``conv_seg``) to 1 channel, then
       ``sigmoid(.) * max_depth`` as in MMSeg's ``VPDDepthHead``.

    Args:
        in_channels (Sequence[int]): Channels of the selected encoder features,
            shallow -> deep, e.g. ``[8, 16, 16, 48, 160]`` for MobileNetV2-0.5.
        in_index (Sequence[int]): Indices of those features in the backbone
            output, same length as ``in_channels``.
        decoder (str): One of :data:`DEPTH_DECODERS`. Defaults to ``'Decoder'``.
        channels (int): Width after the Conv1x1. Defaults to 256.
        min_channels (int): Lower bound of the halved block widths. Defaults
            to 16.
        max_depth (float): Largest predictable depth in metres; the output is
            ``sigmoid(logit) * max_depth`` in (0, max_depth). Defaults to 10.0.
        negative_slope (float): LeakyReLU negative slope. Defaults to 0.2.
        in_strides (Sequence[float], optional): Strides (w.r.t. the input image)
            of the selected features, strictly increasing. Defaults to
            doubling strides ending at 32, i.e. ``(2, 4, 8, 16, 32)`` for five
            features.
        loss_decode (dict | Sequence[dict]): Depth loss config(s), built with
            MMSeg's ``build_loss``; the loss dict keys are their ``loss_name``.
            Defaults to ``dict(type='ScaleInvariantLogLoss')`` (``'loss_silog'``).
        align_corners (bool): ``align_corners`` of every bilinear resize.
            Defaults to False.
        dropout_ratio (float): Dropout before the output conv (BaseDecodeHead
            semantics). Defaults to 0.0 (the paper uses none).
        **kwargs: Other :class:`BaseDecodeHead` arguments (``init_cfg``,
            ``conv_cfg`` ...). ``num_classes=1``, ``out_channels=1`` and
            ``input_transform='multiple_select'`` are fixed.

    Raises:
        ValueError: ``decoder`` not in :data:`DEPTH_DECODERS` (the message lists
            the valid names); ``in_channels`` / ``in_index`` / ``in_strides``
            empty or of different lengths, ``in_strides`` not strictly
            increasing positive; ``channels``, ``min_channels`` or ``max_depth``
            not positive.
        TypeError: ``in_channels`` or ``in_index`` is not a sequence.

    Shapes:
        forward input: the backbone's tuple of features, feature ``j`` of
        ``in_index`` being (B, in_channels[j], H / s_j, W / s_j).
        forward output: depth (B, 1, H', W') in metres, (H', W') = (H, W) for
        the 6-block decoders and (H / 4, W / 4) for ``ULightDecoder_skip_4b``.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 in_index: Sequence[int],
                 decoder: str = 'Decoder',
                 channels: int = 256,
                 min_channels: int = 16,
                 max_depth: float = 10.0,
                 negative_slope: float = 0.2,
                 in_strides: Optional[Sequence[float]] = None,
                 loss_decode: Union[dict, Sequence[dict]] = dict(
                     type='ScaleInvariantLogLoss'),
                 align_corners: bool = False,
                 dropout_ratio: float = 0.0,
                 **kwargs) -> None:
        if decoder not in _DECODER_SPECS:
            raise ValueError(f'Unknown depth decoder {decoder!r}; valid decoders are '
                             f'{", ".join(DEPTH_DECODERS)}.')
        if not isinstance(in_channels, (list, tuple)) or not isinstance(in_index, (list, tuple)):
            raise TypeError('SkipDecoderDepthHead needs in_channels and in_index as lists, got '
                            f'{type(in_channels).__name__} and {type(in_index).__name__}.')
        if len(in_channels) == 0 or len(in_channels) != len(in_index):
            raise ValueError('in_channels and in_index must be non-empty and of the same length, '
                             f'got {len(in_channels)} and {len(in_index)}.')
        if channels <= 0 or min_channels <= 0:
            raise ValueError(f'channels and min_channels must be positive, got {channels} and '
                             f'{min_channels}.')
        if max_depth <= 0:
            raise ValueError(f'max_depth must be positive (metres), got {max_depth}.')
        num_feats = len(in_channels)
        if in_strides is None:
            # doubling strides ending at 32: (2, 4, 8, 16, 32) for five features
            in_strides = tuple(2**(5 - k) if k <= 5 else 2.0**(5 - k)
                               for k in range(num_feats - 1, -1, -1))
        if len(in_strides) != num_feats:
            raise ValueError(f'in_strides has {len(in_strides)} entries for {num_feats} features.')
        if any(s <= 0 for s in in_strides) or any(
                b <= a for a, b in zip(in_strides[:-1], in_strides[1:])):
            raise ValueError(f'in_strides must be positive and strictly increasing, got '
                             f'{tuple(in_strides)}.')

        super().__init__(
            in_channels=list(in_channels),
            channels=channels,
            num_classes=1,
            out_channels=1,
            # Unused for depth (only segmentors threshold binary logits); given
            # explicitly so BaseDecodeHead does not warn about a missing one.
            threshold=0.3,
            in_index=list(in_index),
            input_transform='multiple_select',
            loss_decode=loss_decode,
            align_corners=align_corners,
            dropout_ratio=dropout_ratio,
            **kwargs)

        num_blocks, convs_per_block, depthwise_second = _DECODER_SPECS[decoder]
        self.decoder = decoder
        self.max_depth = float(max_depth)
        self.min_channels = min_channels
        self.negative_slope = negative_slope
        self.in_strides = tuple(in_strides)

        deepest = self.in_strides[-1]
        #: stride (w.r.t. the input) of the running features of each block
        self.block_strides: Tuple[float, ...] = tuple(
            deepest // 2**i if deepest % 2**i == 0 else deepest / 2**i for i in range(num_blocks))
        #: position in the selected features of the skip of each block
        self.skip_indices: Tuple[int, ...] = tuple(
            min(range(num_feats),
                key=lambda j: (abs(math.log2(self.in_strides[j]) - math.log2(s)), j))
            for s in self.block_strides)

        self.conv_in = nn.Conv2d(in_channels[-1], channels, kernel_size=1)
        blocks: List[nn.Module] = []
        width = channels
        for i in range(num_blocks):
            out_width = max(channels // 2**(i + 1), min_channels)
            layers: List[nn.Module] = [
                nn.LeakyReLU(negative_slope),
                nn.Conv2d(width + in_channels[self.skip_indices[i]], out_width, 3, padding=1),
            ]
            if convs_per_block == 2:
                layers += [
                    nn.LeakyReLU(negative_slope),
                    nn.Conv2d(out_width, out_width, 3, padding=1,
                              groups=out_width if depthwise_second else 1),
                ]
            blocks.append(nn.Sequential(*layers))
            width = out_width
        self.blocks = nn.ModuleList(blocks)
        # The output Conv3x3 -> 1 replaces BaseDecodeHead's Conv1x1 ``conv_seg``
        # (same name, so ``cls_seg`` and the default init_cfg override apply).
        self.conv_seg = nn.Conv2d(width, self.out_channels, kernel_size=3, padding=1)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Decode the encoder features to a depth map.

        Args:
            inputs (Sequence[Tensor]): All backbone features; those selected by
                ``in_index`` are (B, in_channels[j], H / s_j, W / s_j).

        Returns:
            Tensor: Depth (B, 1, H', W') in metres, in (0, max_depth); (H', W')
            is the resolution of the last block (stride 1 or 4, see the class
            docstring).

        Raises:
            ValueError: when a selected feature has the wrong channel count.
        """
        feats: List[Tensor] = self._transform_inputs(inputs)
        for j, (f, c) in enumerate(zip(feats, self.in_channels)):
            if f.dim() != 4 or f.shape[1] != c:
                raise ValueError(f'Selected feature {j} (in_index {self.in_index[j]}) should be '
                                 f'(B, {c}, h, w), got {tuple(f.shape)}.')
        x = self.conv_in(feats[-1])
        for i, block in enumerate(self.blocks):
            skip_idx = self.skip_indices[i]
            skip = feats[skip_idx]
            if i > 0:
                if self.in_strides[skip_idx] == self.block_strides[i]:
                    size = tuple(skip.shape[2:])
                else:
                    size = (2 * x.shape[2], 2 * x.shape[3])
                x = resize(x, size=size, mode='bilinear', align_corners=self.align_corners)
            if tuple(skip.shape[2:]) != tuple(x.shape[2:]):
                skip = resize(skip, size=tuple(x.shape[2:]), mode='bilinear',
                              align_corners=self.align_corners)
            x = block(torch.cat([x, skip], dim=1))
        return torch.sigmoid(self.cls_seg(x)) * self.max_depth

    def _stack_batch_gt(self, batch_data_samples: SampleList) -> Tensor:
        """Stack the ground-truth depth maps.

        Args:
            batch_data_samples (list[SegDataSample]): Samples with
                ``gt_depth_map`` (1, H, W) in metres.

        Returns:
            Tensor: (B, 1, H, W) depth in metres.

        Raises:
            ValueError: when a sample has no ``gt_depth_map`` (the training pipeline
                lacks ``LoadDepthAnnotation``); the message names the transform.
        """
        if any('gt_depth_map' not in data_sample for data_sample in batch_data_samples):
            raise ValueError(missing_annotation_message(
                'gt_depth_map', 'LoadDepthAnnotation', f"{type(self).__name__}'s loss"))
        gt_depth_maps = [data_sample.gt_depth_map.data for data_sample in batch_data_samples]
        return torch.stack(gt_depth_maps, dim=0)

    def loss_by_feat(self, pred_depth_map: Tensor,
                     batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Compute the depth losses (pattern of MMSeg's ``VPDDepthHead``).

        The prediction is resized bilinearly to the ground-truth size first;
        invalid pixels (gt <= 0) are handled by the loss itself.

        Args:
            pred_depth_map (Tensor): (B, 1, H', W') depth in metres from
                :meth:`forward`.
            batch_data_samples (list[SegDataSample]): Samples with
                ``gt_depth_map`` (1, H, W) in metres.

        Returns:
            dict[str, Tensor]: One scalar per distinct ``loss_name`` (losses
            sharing a name are summed), e.g. ``{'loss_silog': ...}``.
        """
        gt_depth_map = self._stack_batch_gt(batch_data_samples)
        pred_depth_map = resize(
            input=pred_depth_map,
            size=gt_depth_map.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)
        losses_decode = self.loss_decode if isinstance(self.loss_decode, nn.ModuleList) \
            else [self.loss_decode]
        loss: Dict[str, Tensor] = dict()
        for loss_decode in losses_decode:
            value = loss_decode(pred_depth_map, gt_depth_map)
            if loss_decode.loss_name not in loss:
                loss[loss_decode.loss_name] = value
            else:
                loss[loss_decode.loss_name] = loss[loss_decode.loss_name] + value
        return loss

    def predict_by_feat(self, seg_logits: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Resize the depth prediction to the (padded) input size.

        Args:
            seg_logits (Tensor): (B, 1, H', W') depth in metres from
                :meth:`forward`.
            batch_img_metas (list[dict]): Image metas with ``img_shape`` and
                optionally ``pad_shape``.

        Returns:
            Tensor: (B, 1, H, W) depth in metres (bilinear resize, so still in
            (0, max_depth)).
        """
        return super().predict_by_feat(seg_logits, batch_img_metas)

    def extra_repr(self) -> str:
        """Extra repr."""
        return (f'decoder={self.decoder}, max_depth={self.max_depth}, '
                f'block_strides={self.block_strides}, skip_indices={self.skip_indices}, '
                + super().extra_repr())

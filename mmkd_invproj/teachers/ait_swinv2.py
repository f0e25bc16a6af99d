# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The SwinV2 backbone of All-in-Tokens (AiT), built from timm's SwinV2 modules.

The depth and COCO instance-segmentation teachers of supplementary 6.3.1 are the
SwinV2-B backbones (Liu et al., "Swin Transformer V2: Scaling Up Capacity and
Resolution", CVPR 2022) of the AiT release (Ning et al., "All in Tokens: Unifying
Output Space of Visual Tasks via Soft Token", ICCV 2023). :class:`AiTSwinV2` is
timm's SwinV2 block, patch embedding and patch merging with what AiT does
differently:

* cosine attention on ``q / (|q| + 5e-5)`` and ``k / (|k| + 5e-5)`` (timm: ``q /
  max(|q|, 1e-12)``), computed in float32; LayerNorms in float32 with eps 1e-6;
* the map of every block is zero-padded on the right/bottom to a window multiple
  *before* the cyclic shift (timm shifts first), the shift mask (-100 across
  regions) is the padded map's, and windows are never clamped to a smaller map;
* per-stage windows (30, 30, 30, 15) with the log-spaced position coordinates
  normalised by the pre-training windows (12, 12, 12, 6);
* stage ``i`` ends with the patch merging ``layers.{i}.downsample`` (timm: stage
  ``i + 1`` starts with it), and only the stages in ``norm_indices`` have an output
  LayerNorm ``norm{i}`` (the checkpoints hold ``norm3``).

Every parameter and persistent buffer carries the name and shape of the ``backbone.*``
entry of the AiT checkpoints, so ``state_dict()`` returns the official names and
``load_state_dict(official_backbone_state_dict, strict=True)`` loads them. The one
name AiT and timm disagree on is translated in one place, :class:`_AiTWindowAttention`:
timm's ``cpb_mlp`` is registered as AiT's ``rpe_mlp``, and the position buffers
``relative_coords_table`` / ``relative_position_index`` (non-persistent in timm) are
made persistent, as the checkpoints store them.

Module outputs for an H x W input (H_i = ceil(H / 2^(i+2)), C_i = embed_dim * 2^i):

* ``layers.{i}``: the stage's map (B, C_i, H_i, W_i), before ``norm{i}`` and merging;
* ``norm{i}``: the normalised map (B, C_i, H_i, W_i); ``norm3`` is the stride-32
  feature AiT's task solver reads;
* ``patch_embed``, ``layers.{i}.blocks.{j}`` and ``layers.{i}.downsample`` are timm
  modules with channel-last (B, H, W, C) outputs, not (B, C, H, W) maps.
"""
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from timm.layers import LayerNorm2dFp32, LayerNormFp32, PatchEmbed
from timm.models.swin_transformer_v2 import (PatchMerging, SwinTransformerV2Block,
                                             WindowAttention, window_partition,
                                             window_reverse)
from torch import Tensor

from ..registry import MODELS

#: SwinV2 variants: (embed_dim C0, depths, num_heads). 'base' and 'large' are the AiT
#: backbones; 'tiny'/'small' are the SwinV2 paper's smaller variants.
AIT_SWINV2_ARCHS: Dict[str, dict] = {
    'tiny': dict(embed_dim=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24)),
    'small': dict(embed_dim=96, depths=(2, 2, 18, 2), num_heads=(3, 6, 12, 24)),
    'base': dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32)),
    'large': dict(embed_dim=192, depths=(2, 2, 18, 2), num_heads=(6, 12, 24, 48)),
}

#: AiT's window sizes and pre-training window sizes per stage (all SwinV2-B/L configs).
AIT_WINDOW_SIZES = (30, 30, 30, 15)
AIT_PRETRAINED_WINDOW_SIZES = (12, 12, 12, 6)
#: ``use_shift`` of the AiT depth model; the COCO instance-segmentation model shifts in
#: every stage (``use_shift=True``).
AIT_DEPTH_USE_SHIFT = (True, True, False, False)

_COSINE_EPS = 5e-5
_POSITION_BUFFERS = ('relative_coords_table', 'relative_position_index')


class _AiTWindowAttention(WindowAttention):
    """timm's SwinV2 window attention with AiT's cosine eps, float32 attention and
    state-dict names (``rpe_mlp``, persistent position buffers)."""

    def __init__(self, dim: int, num_heads: int, window: int, pretrained_window: int):
        super().__init__(dim, (window, window), num_heads,
                         pretrained_window_size=(pretrained_window, pretrained_window))
        self.rpe_mlp = self.cpb_mlp  # AiT's name for it
        del self.cpb_mlp
        for name in _POSITION_BUFFERS:
            self.register_buffer(name, getattr(self, name), persistent=True)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The position buffers are functions of the window size: a checkpoint made with
        # other windows keeps this module's own.
        for name in _POSITION_BUFFERS:
            key, own = prefix + name, getattr(self, name)
            if key in state_dict and state_dict[key].shape != own.shape:
                print_log(f'{key}: checkpoint shape {tuple(state_dict[key].shape)} is for '
                          f'another window size; recomputed {tuple(own.shape)} kept',
                          logger='current', level=30)
                state_dict[key] = own.detach().clone()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """``proj(softmax(cos(q, k) * exp(min(logit_scale, log 100)) + 16 sigmoid(
        rpe_mlp(coords)) + mask) v)``, with SwinV2's eqs. 2-4 and AiT's cosine eps.

        Args:
            x (Tensor): (B * nW, N, C) window tokens, N = window^2, the nW windows of
                an image consecutive.
            mask (Tensor, optional): (nW, N, N) shift mask, 0 or -100.

        Returns:
            Tensor: (B * nW, N, C), the dtype of ``x``.
        """
        bw, n, c = x.shape
        h = self.num_heads
        bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).view(bw, n, 3, h, c // h)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).float().unbind(0)  # (B * nW, heads, N, d)
        scale = self.logit_scale.float().clamp(max=math.log(100.)).exp()
        q = q / (q.norm(dim=-1, keepdim=True) + _COSINE_EPS) * scale
        k = k / (k.norm(dim=-1, keepdim=True) + _COSINE_EPS)
        table = 16 * torch.sigmoid(self.rpe_mlp(self.relative_coords_table.float())
                                   .view(-1, h).float())
        attn_bias = table.t()[:, self.relative_position_index.view(-1)].view(1, h, n, n)
        if mask is not None:  # the windows of an image go to the head dim
            nw = mask.shape[0]
            attn_bias = (attn_bias + mask.unsqueeze(1).float()).view(1, nw * h, n, n)
            q, k, v = (t.reshape(bw // nw, nw * h, n, -1) for t in (q, k, v))
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_bias, scale=1.0,
            dropout_p=self.attn_drop.p if self.training else 0.)
        out = out.reshape(bw, h, n, -1).transpose(1, 2).reshape(bw, n, c).type_as(x)
        return self.proj_drop(self.proj(out))


class _AiTBlock(SwinTransformerV2Block):
    """timm's SwinV2 residual-post-norm block (``x + LN(attn(x))``, ``x + LN(mlp(x))``)
    with :class:`_AiTWindowAttention` and AiT's pad-then-shift window order.

    Maps (B, H, W, C) -> (B, H, W, C).
    """

    def __init__(self, dim: int, num_heads: int, window: int, shift: int,
                 pretrained_window: int, mlp_ratio: float, drop_path: float):
        super().__init__(dim, (window, window), num_heads, window, shift,
                         always_partition=True, dynamic_mask=True, mlp_ratio=mlp_ratio,
                         drop_path=drop_path, norm_layer=LayerNormFp32)
        self.attn = _AiTWindowAttention(dim, num_heads, window, pretrained_window)

    def _attn(self, x: Tensor) -> Tensor:
        # (B, H, W, C): pad, shift, attend within windows, shift back, crop
        _, h, w, c = x.shape
        win, shift = self.window_size[0], self.shift_size[0]
        x = F.pad(x, (0, 0, 0, -w % win, 0, -h % win))
        mask = None
        if shift:
            x = torch.roll(x, (-shift, -shift), (1, 2))
            mask = self.get_attn_mask(x)
        y = self.attn(window_partition(x, self.window_size).flatten(1, 2), mask)
        y = window_reverse(y.view(-1, win, win, c), self.window_size, x.shape[1:3])
        if shift:
            y = torch.roll(y, (shift, shift), (1, 2))
        return y[:, :h, :w]


class _AiTStage(nn.Module):
    """``blocks`` (shifted windows in odd blocks when ``use_shift``), and, except in the
    last stage, the ``downsample`` merging that the backbone applies after them.

    ``forward`` maps channel-last tokens (B, H, W, C) to the stage map (B, C, H, W).
    """

    def __init__(self, dim: int, depth: int, num_heads: int, window: int,
                 pretrained_window: int, use_shift: bool, drop_path: Sequence[float],
                 downsample: bool, mlp_ratio: float):
        super().__init__()
        self.blocks = nn.Sequential(*[
            _AiTBlock(dim, num_heads, window, window // 2 if use_shift and j % 2 else 0,
                      pretrained_window, mlp_ratio, drop_path[j]) for j in range(depth)])
        self.downsample = PatchMerging(dim, norm_layer=LayerNormFp32) if downsample else None

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(x).permute(0, 3, 1, 2)


def _per_stage(value, name: str, num_stages: int, kind: type) -> list:
    """One value per stage: a scalar is repeated, a sequence must have ``num_stages``."""
    def ok(v):
        return isinstance(v, kind) and (kind is bool or not isinstance(v, bool))

    if ok(value):
        return [value] * num_stages
    value = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(value) != num_stages or not all(ok(v) for v in value):
        raise ValueError(f'{name} must be one {kind.__name__} or {num_stages} of them (one '
                         f'per stage), got {value}')
    return value


@MODELS.register_module()
class AiTSwinV2(BaseModule):
    """SwinV2 backbone of All-in-Tokens, loadable from the AiT checkpoints (see the
    module docstring for its layout and hookable modules).

    Input: (B, in_channels, H, W) images of any size (zero-padded to multiples of 4 and
    of the windows), normalised as the checkpoint was trained (the AiT teacher configs
    under ``configs/_base_/teachers/`` say how).

    Args:
        arch (str | dict): ``'base'`` (SwinV2-B, the AiT teachers: embed_dim 128,
            depths (2, 2, 18, 2), heads (4, 8, 16, 32), 86,893,816 parameters),
            ``'large'``, ``'tiny'``, ``'small'``, or a dict with ``embed_dim``,
            ``depths``, ``num_heads`` (4 stages).
        img_size (int | tuple[int, int]): Nominal (H, W) input in pixels; sets
            :attr:`out_shapes` only (no weight depends on it). Defaults to (480, 640).
        window_size (int | Sequence[int]): Window per stage, in tokens. Defaults to
            AiT's (30, 30, 30, 15).
        pretrained_window_sizes (int | Sequence[int]): Pre-training window per stage,
            normalising the position coordinates. Defaults to AiT's (12, 12, 12, 6).
        use_shift (bool | Sequence[bool]): Shifted windows in odd blocks, per stage.
            Defaults to the AiT depth model's (True, True, False, False); ``True`` for
            the COCO instance-segmentation model.
        out_indices (Sequence[int]): Stages :meth:`forward` returns. Defaults to all.
        norm_indices (Sequence[int]): Stages with an output LayerNorm ``norm{i}``.
            Defaults to (3,), as in the AiT checkpoints.
        drop_path_rate (float): Stochastic depth, linear over all blocks. Defaults to
            0.1 (inactive in eval).
        mlp_ratio (float): Defaults to 4.
        in_channels (int): Defaults to 3.
        init_cfg (dict, optional): MMEngine init config.

    Raises:
        ValueError: unknown ``arch``, per-stage values of the wrong length or type,
            ``out_indices``/``norm_indices`` outside 0..3, a window below 2, a
            pre-training window below 2, channels not divisible by the heads.
    """

    num_stages = 4

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 img_size: Union[int, Sequence[int]] = (480, 640),
                 window_size: Union[int, Sequence[int]] = AIT_WINDOW_SIZES,
                 pretrained_window_sizes: Union[int, Sequence[int]] = AIT_PRETRAINED_WINDOW_SIZES,
                 use_shift: Union[bool, Sequence[bool]] = AIT_DEPTH_USE_SHIFT,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 norm_indices: Sequence[int] = (3,),
                 drop_path_rate: float = 0.1,
                 mlp_ratio: float = 4.,
                 in_channels: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in AIT_SWINV2_ARCHS:
                raise ValueError(f'unknown AiTSwinV2 arch {arch!r}; valid: '
                                 f'{sorted(AIT_SWINV2_ARCHS)} or a dict(embed_dim=..., '
                                 'depths=(4 ints), num_heads=(4 ints))')
            arch = AIT_SWINV2_ARCHS[arch]
        missing = {'embed_dim', 'depths', 'num_heads'} - set(arch)
        if missing:
            raise ValueError(f'arch dict lacks {sorted(missing)}; got {arch}')
        n = self.num_stages
        self.embed_dim = int(arch['embed_dim'])
        self.depths = _per_stage(arch['depths'], 'arch depths', n, int)
        heads = _per_stage(arch['num_heads'], 'arch num_heads', n, int)
        windows = _per_stage(window_size, 'window_size', n, int)
        pre_windows = _per_stage(pretrained_window_sizes, 'pretrained_window_sizes', n, int)
        shifts = _per_stage(use_shift, 'use_shift', n, bool)
        if min(windows) < 2:
            raise ValueError(f'window_size must be >= 2 in every stage, got {windows}')
        if min(pre_windows) < 2:
            raise ValueError('pretrained_window_sizes must be >= 2 in every stage (the '
                             f'coordinates are divided by size - 1), got {pre_windows}')
        for name, idx in (('out_indices', out_indices), ('norm_indices', norm_indices)):
            bad = [i for i in idx if not (isinstance(i, int) and 0 <= i < n)]
            if bad:
                raise ValueError(f'{name} must be stage numbers in 0..{n - 1}, got {list(idx)}')
        self.out_indices = tuple(out_indices)
        self.norm_indices = tuple(sorted(set(norm_indices)))
        self.img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        if len(self.img_size) != 2 or min(self.img_size) < 1:
            raise ValueError(f'img_size must be an int or (H, W) > 0, got {img_size}')
        self.num_features = [self.embed_dim * 2 ** i for i in range(n)]
        for i, (c, h) in enumerate(zip(self.num_features, heads)):
            if c % h:
                raise ValueError(f'stage {i}: {c} channels are not divisible by {h} heads')

        self.patch_embed = PatchEmbed(None, 4, in_channels, self.embed_dim,
                                      norm_layer=LayerNormFp32, output_fmt='NHWC',
                                      strict_img_size=False, dynamic_img_pad=True)
        total = sum(self.depths)  # linear stochastic depth, as torch.linspace
        dpr = [drop_path_rate * k / max(total - 1, 1) for k in range(total)]
        self.layers = nn.ModuleList()
        for i in range(n):
            first = sum(self.depths[:i])
            self.layers.append(_AiTStage(
                self.num_features[i], self.depths[i], heads[i], windows[i], pre_windows[i],
                shifts[i], dpr[first:first + self.depths[i]], downsample=i < n - 1,
                mlp_ratio=mlp_ratio))
        for i in self.norm_indices:
            self.add_module(f'norm{i}', LayerNorm2dFp32(self.num_features[i], eps=1e-6))
        self.apply(self._init_linear)

    @staticmethod
    def _init_linear(m: nn.Module) -> None:
        # Swin's trunc_normal_(std=0.02) with bounds +-2 (100 std: sampled as a clamped
        # normal, faster), zero biases.
        if isinstance(m, nn.Linear):
            with torch.no_grad():
                m.weight.normal_(0, .02).clamp_(-2, 2)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    @property
    def out_shapes(self) -> List[Tuple[int, int, int]]:
        """(C, H, W) of each output of :meth:`forward` for an ``img_size`` input."""
        h, w = self.img_size
        return [(self.num_features[i], math.ceil(h / 2 ** (i + 2)),
                 math.ceil(w / 2 ** (i + 2))) for i in self.out_indices]

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """
        Args:
            x (Tensor): (B, in_channels, H, W) normalised images.

        Returns:
            tuple[Tensor]: One (B, C_i, ceil(H / 2^(i+2)), ceil(W / 2^(i+2))) map per
            ``out_indices`` entry, through ``norm{i}`` when stage i has one.

        Raises:
            ValueError: if ``x`` is not (B, in_channels, H, W).
        """
        cin = self.patch_embed.proj.in_channels
        if x.dim() != 4 or x.shape[1] != cin:
            raise ValueError(f'AiTSwinV2 expects a (B, {cin}, H, W) image batch, got shape '
                             f'{tuple(x.shape)}')
        x = self.patch_embed(x)
        outs = []
        last = max(self.out_indices, default=-1)
        for i, stage in enumerate(self.layers):
            feat = stage(x)
            if i in self.out_indices:
                outs.append(getattr(self, f'norm{i}')(feat) if i in self.norm_indices else feat)
            if i == last:
                break
            x = stage.downsample(feat.permute(0, 2, 3, 1))
        return tuple(outs)


def ait_swinv2_state_dict_keys(arch: Union[str, dict] = 'base',
                               **kwargs) -> 'OrderedDict[str, Tuple[int, ...]]':
    """Names and shapes of an :class:`AiTSwinV2` state dict (built on the meta device,
    nothing allocated), e.g. to compare with the ``backbone.*`` entries of an AiT
    checkpoint.

    Args:
        arch (str | dict): As in :class:`AiTSwinV2`.
        **kwargs: Other :class:`AiTSwinV2` arguments.

    Returns:
        OrderedDict[str, tuple[int, ...]]: key (without ``backbone.``) -> shape.
    """
    with torch.device('meta'):
        model = AiTSwinV2(arch=arch, **kwargs)
    return OrderedDict((k, tuple(v.shape)) for k, v in model.state_dict().items())

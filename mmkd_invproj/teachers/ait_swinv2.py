# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The SwinV2 backbone of All-in-Tokens (AiT), loadable from the official AiT checkpoints.

Supplementary 6.3.1 distils a depth student from two SwinV2-B teachers released with
AiT (Ning et al., "All in Tokens: Unifying Output Space of Visual Tasks via Soft
Token", ICCV 2023; https://github.com/SwinTransformer/AiT): the NYUv2 depth model
``ait_depth_swinv2b_ar.pth`` and the COCO instance-segmentation model
``ait_insseg_swinv2b.pth``. Both use AiT's ``SwinV2TransformerRPE2FC`` backbone
(``ait/code/model/swin_transformer_v2_rpe2fc.py``, configs
``ait/configs/swinv2b_480reso_depthonly.py`` / ``swinv2b_640reso_inssegonly.py``), a
Swin Transformer V2 (Liu et al., "Swin Transformer V2: Scaling Up Capacity and
Resolution", CVPR 2022) with

* post-norm residual blocks (``x + LN(attn(x))``, ``x + LN(mlp(x))``), LayerNorm
  eps 1e-6, computed in float32;
* scaled cosine attention: ``q/(|q|+5e-5) . k/(|k|+5e-5) * exp(min(logit_scale,
  log 100))``, with a learnable per-head ``logit_scale`` and separate ``q_bias`` /
  ``v_bias`` (no key bias);
* a continuous relative position bias from a 2-layer MLP (``rpe_mlp``: Linear(2, 512),
  ReLU, Linear(512, heads, no bias); AiT's name for SwinV2's ``cpb_mlp``) applied to
  log-spaced coordinates ``sign(t) log2(1 + 8|t|/(Wp-1)) / 3`` normalised by the
  *pre-training* window ``Wp`` of each stage (AiT's ``norm8_log_bylayer``), squashed
  as ``16 * sigmoid``;
* window sizes (30, 30, 30, 15) fine-tuned from pre-training windows (12, 12, 12, 6);
  the token map of every block is zero-padded on the right/bottom to a window
  multiple (no window clamping), shifted windows with a -100 mask;
* patch merging ``Linear(4C, 2C, no bias)`` then LayerNorm; an output LayerNorm
  ``norm{i}`` only for the stages the AiT config outputs (``out_indices=(3,)``, so the
  checkpoints hold ``norm3`` only).

This is an independent implementation of that architecture whose parameter and
buffer names and shapes equal those of the ``backbone.*`` entries of the AiT
checkpoints, so ``load_teacher_checkpoint(model, ckpt, prefix='backbone.',
strict=True)`` loads them (the checkpoints also store the two persistent buffers
``relative_coords_table`` and ``relative_position_index`` of every block; they are
registered here identically).

Hookable module names (``named_modules()``), for an input of H x W pixels:

* ``patch_embed``: (B, C0, ceil(H/4), ceil(W/4)).
* ``layers.{i}`` (i = 0..3): the stage's own map (B, C_i, H_i, W_i), C_i = C0 * 2^i,
  H_i = ceil(H / 2^(i+2)) (the output of the stage's last block, before the output
  norm and before the stage's patch merging).
* ``layers.{i}.downsample`` (i = 0..2): the merged map (B, C_{i+1}, H_{i+1}, W_{i+1}).
  It is called by the backbone after ``layers.{i}``, so hooking ``layers.{i}`` gives the
  stage map, as in AiT.
* ``layers.{i}.blocks.{j}``: tokens (B, H_i * W_i, C_i) (set the projector's
  ``patch_size`` to the stride 4 * 2^i).
* ``norm{i}`` for ``i`` in ``norm_indices`` (default 3): the normalised stage map
  (B, C_i, H_i, W_i); ``norm3`` is exactly the feature AiT's task-solver consumes.
"""
import functools
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from timm.layers import DropPath
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
#: ``use_shift`` of the AiT depth configs; the COCO instance-segmentation config shifts
#: every stage (``use_shift=True``).
AIT_DEPTH_USE_SHIFT = (True, True, False, False)

_LN_EPS = 1e-6            # AiT: partial(LayerNormFP32, eps=1e-6)
_COSINE_EPS = 5e-5        # AiT's custom_normalize: x / (|x| + 5e-5)
_MAX_LOGIT_SCALE = math.log(1. / 0.01)
_MASK_VALUE = -100.0


class _LayerNormFP32(nn.LayerNorm):
    """LayerNorm over the last dim, computed in float32 and cast back (AiT's
    ``LayerNormFP32``)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x.float(), self.normalized_shape, self.weight.float(),
                            self.bias.float(), self.eps).type_as(x)


class _LayerNormFP32NCHW(_LayerNormFP32):
    """The same LayerNorm (same ``weight``/``bias`` names) applied to the channel dim
    of a (B, C, H, W) map, so a hook on it sees a (B, C, H, W) map."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).contiguous()


@functools.lru_cache(maxsize=16)
def _log_spaced_relative_coords(window: int, pretrained_window: int) -> Tensor:
    """SwinV2 log-spaced relative coordinates (SwinV2 eq. 4, AiT ``norm8_log_bylayer``).

    Returns:
        Tensor: (1, 2W-1, 2W-1, 2) float32; entry [0, a, b] holds the transformed
        (dy, dx) = (a - W + 1, b - W + 1): ``t -> 8 t / (Wp - 1)``, then
        ``sign(t) * log2(1 + |t|) / log2(8)``.
    """
    offsets = torch.arange(-(window - 1), window, dtype=torch.float32, device='cpu')
    dy, dx = torch.meshgrid(offsets, offsets, indexing='ij')
    coords = torch.stack((dy, dx), dim=-1).unsqueeze(0) * (8.0 / (pretrained_window - 1))
    return torch.sign(coords) * torch.log2(coords.abs() + 1.0) / math.log2(8)


@functools.lru_cache(maxsize=16)
def _relative_position_index(window: int) -> Tensor:
    """Index into the (2W-1)^2 bias table for every (query, key) pair of a window.

    Returns:
        Tensor: (W*W, W*W) int64, ``(dy + W - 1) * (2W - 1) + (dx + W - 1)`` for the
        query at (y_q, x_q) and key at (y_k, x_k), dy = y_q - y_k, dx = x_q - x_k.
    """
    grid = torch.arange(window, device='cpu')  # CPU even under a meta device context
    ys, xs = torch.meshgrid(grid, grid, indexing='ij')
    ys, xs = ys.flatten(), xs.flatten()
    dy = ys[:, None] - ys[None, :] + window - 1
    dx = xs[:, None] - xs[None, :] + window - 1
    return dy * (2 * window - 1) + dx


def _to_windows(x: Tensor, window: int) -> Tensor:
    """(B, H, W, C) with H, W multiples of ``window`` -> (B * nW, window^2, C)."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, c)


def _from_windows(windows: Tensor, window: int, h: int, w: int) -> Tensor:
    """Inverse of :func:`_to_windows`: (B * nW, window^2, C) -> (B, H, W, C)."""
    c = windows.shape[-1]
    x = windows.view(-1, h // window, w // window, window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, h, w, c)


def shifted_window_mask(h: int, w: int, window: int, shift: int,
                        device: Optional[torch.device] = None) -> Tensor:
    """Attention mask of the shifted windows of a zero-padded (h, w) token map.

    The padded map (ceil(h/window) and ceil(w/window) windows, as AiT pads before
    shifting) is cut into 3 x 3 regions by the offsets ``-window`` and ``-shift`` of
    each axis; after the cyclic shift, a query may only attend to keys of its own
    region (Swin, Liu et al. ICCV 2021, sec. 3.2).

    Returns:
        Tensor: (nW, window^2, window^2) with 0 inside a region and -100 across.
    """
    hp, wp = math.ceil(h / window) * window, math.ceil(w / window) * window
    region = torch.zeros(1, hp, wp, 1, device=device)
    cuts = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    label = 0
    for hs in cuts:
        for ws in cuts:
            region[:, hs, ws, :] = label
            label += 1
    region = _to_windows(region, window).squeeze(-1)  # nW, window^2
    diff = region[:, None, :] - region[:, :, None]
    return torch.zeros_like(diff).masked_fill(diff != 0, _MASK_VALUE)


class _CosineWindowAttention(nn.Module):
    """SwinV2 window attention: scaled cosine attention + log-spaced continuous
    position bias (SwinV2 eqs. 2-4; AiT ``WindowAttention`` with ``cosine_mh``,
    ``sigmoid`` output and ``norm8_log_bylayer`` coordinates)."""

    def __init__(self, dim: int, num_heads: int, window: int, pretrained_window: int,
                 rpe_hidden_dim: int = 512, attn_drop: float = 0., proj_drop: float = 0.):
        super().__init__()
        self.num_heads = num_heads
        self.window = window
        self.logit_scale = nn.Parameter(torch.full((num_heads, 1, 1), math.log(10.)))
        self.rpe_mlp = nn.Sequential(nn.Linear(2, rpe_hidden_dim), nn.ReLU(inplace=True),
                                     nn.Linear(rpe_hidden_dim, num_heads, bias=False))
        # cached per (window, pretrained window) on the CPU; each block owns a copy
        self.register_buffer('relative_coords_table',
                             _log_spaced_relative_coords(window, pretrained_window).clone())
        self.register_buffer('relative_position_index', _relative_position_index(window).clone())
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The two buffers are functions of the window size: a checkpoint made with
        # other windows keeps this module's own (AiT drops them when fine-tuning).
        for name in ('relative_coords_table', 'relative_position_index'):
            key = prefix + name
            own = getattr(self, name)
            if key in state_dict and state_dict[key].shape != own.shape:
                print_log(f'{key}: checkpoint shape {tuple(state_dict[key].shape)} is for '
                          f'another window size; recomputed {tuple(own.shape)} kept',
                          logger='current', level=30)
                state_dict[key] = own.detach().clone()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def position_bias(self) -> Tensor:
        """(heads, window^2, window^2) bias ``16 * sigmoid(rpe_mlp(coords))`` (the sigmoid
        is taken on the (2W-1)^2 table before the gather: same values, less work)."""
        table = self.rpe_mlp(self.relative_coords_table.float()).view(-1, self.num_heads)
        table = 16 * torch.sigmoid(table.float()).t()  # heads, (2W-1)^2
        n = self.window * self.window
        return table[:, self.relative_position_index.view(-1)].view(self.num_heads, n, n)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """
        ``softmax(cos(q, k) * exp(min(logit_scale, log 100)) + B + mask) v``, computed in
        float32 with :func:`torch.nn.functional.scaled_dot_product_attention` (the
        cosine scale is folded into ``q``; ``scale=1``).

        Args:
            x (Tensor): (B * nW, N, C) window tokens, N = window^2, windows of one
                image consecutive.
            mask (Tensor, optional): (nW, N, N), 0 / -100.

        Returns:
            Tensor: (B * nW, N, C).
        """
        bw, n, c = x.shape
        h = self.num_heads
        bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).view(bw, n, 3, h, c // h)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).float().unbind(0)  # (B*nW, heads, N, d)
        scale = self.logit_scale.float().clamp(max=_MAX_LOGIT_SCALE).exp()
        q = q / (q.norm(dim=-1, keepdim=True) + _COSINE_EPS) * scale
        k = k / (k.norm(dim=-1, keepdim=True) + _COSINE_EPS)
        attn_bias = self.position_bias().unsqueeze(0)  # 1, heads, N, N
        if mask is not None:  # fold the windows into the head dim: (B, nW*heads, N, N)
            nw = mask.shape[0]
            attn_bias = (attn_bias + mask.unsqueeze(1).float()).view(1, nw * h, n, n)
            q, k, v = (t.reshape(bw // nw, nw * h, n, -1) for t in (q, k, v))
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_bias, scale=1.0,
            dropout_p=self.attn_drop.p if self.training else 0.)
        out = out.reshape(bw, h, n, -1).transpose(1, 2).reshape(bw, n, c).type_as(x)
        return self.proj_drop(self.proj(out))


class _Mlp(nn.Module):
    """fc1 -> GELU -> dropout -> fc2 -> dropout."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class _PostNormSwinBlock(nn.Module):
    """SwinV2 residual-post-norm block (SwinV2 sec. 3.1, AiT ``SwinTransformerBlockPost``).

    ``x = x + DropPath(LN1(W-MSA(x)))``; ``x = x + DropPath(LN2(MLP(x)))``. The token
    map is zero-padded on the right/bottom to window multiples before the cyclic
    shift and cropped back afterwards (as AiT does).
    """

    def __init__(self, dim: int, num_heads: int, window: int, shift: int,
                 pretrained_window: int, mlp_ratio: float = 4., drop: float = 0.,
                 attn_drop: float = 0., drop_path: float = 0., rpe_hidden_dim: int = 512):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = _LayerNormFP32(dim, eps=_LN_EPS)
        self.attn = _CosineWindowAttention(dim, num_heads, window, pretrained_window,
                                           rpe_hidden_dim, attn_drop, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = _LayerNormFP32(dim, eps=_LN_EPS)
        self.mlp = _Mlp(dim, int(dim * mlp_ratio), drop)

    def forward(self, x: Tensor, hw: Tuple[int, int], mask: Optional[Tensor]) -> Tensor:
        """
        Args:
            x (Tensor): (B, H*W, C) tokens.
            hw (tuple[int, int]): (H, W) of the token map.
            mask (Tensor, optional): shifted-window mask of the padded map
                (:func:`shifted_window_mask`); used only when this block shifts.

        Returns:
            Tensor: (B, H*W, C).
        """
        h, w = hw
        b, _, c = x.shape
        win = self.window
        y = x.view(b, h, w, c)
        pad_b, pad_r = (win - h % win) % win, (win - w % win) % win
        if pad_b or pad_r:
            y = F.pad(y, (0, 0, 0, pad_r, 0, pad_b))
        hp, wp = h + pad_b, w + pad_r
        if self.shift:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
        y = self.attn(_to_windows(y, win), mask if self.shift else None)
        y = _from_windows(y, win, hp, wp)
        if self.shift:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        y = y[:, :h, :w, :].reshape(b, h * w, c)
        x = x + self.drop_path(self.norm1(y))
        return x + self.drop_path(self.norm2(self.mlp(x)))


class _PatchMerging(nn.Module):
    """2x2 patch merging on a (B, C, H, W) map: concatenate the (0,0), (1,0), (0,1),
    (1,1) neighbours (odd sizes zero-padded), ``Linear(4C, 2C, no bias)``, LayerNorm
    (post-norm order, AiT ``PatchMerging(postnorm=True)``).

    Returns (B, 2C, ceil(H/2), ceil(W/2)).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = _LayerNormFP32(2 * dim, eps=_LN_EPS)

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        h, w = x.shape[1:3]
        if h % 2 or w % 2:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2],
                       x[:, 1::2, 1::2]], dim=-1)
        return self.norm(self.reduction(x)).permute(0, 3, 1, 2).contiguous()


class _SwinStage(nn.Module):
    """One stage: ``blocks`` (shift on odd blocks when enabled) and, except in the
    last stage, the ``downsample`` that the backbone applies to this stage's output.

    ``forward`` maps (B, C, H, W) -> (B, C, H, W) (blocks only).
    """

    def __init__(self, dim: int, depth: int, num_heads: int, window: int,
                 pretrained_window: int, use_shift: bool, drop_path: Sequence[float],
                 downsample: bool, mlp_ratio: float = 4., drop: float = 0.,
                 attn_drop: float = 0., rpe_hidden_dim: int = 512):
        super().__init__()
        self.window = window
        self.shift = window // 2
        self.blocks = nn.ModuleList([
            _PostNormSwinBlock(dim, num_heads, window,
                               self.shift if (use_shift and j % 2 == 1) else 0,
                               pretrained_window, mlp_ratio, drop, attn_drop, drop_path[j],
                               rpe_hidden_dim)
            for j in range(depth)])
        self.downsample = _PatchMerging(dim) if downsample else None

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        mask = None
        if any(blk.shift for blk in self.blocks):
            mask = shifted_window_mask(h, w, self.window, self.shift, x.device)
        tokens = x.flatten(2).transpose(1, 2)
        for blk in self.blocks:
            tokens = blk(tokens, (h, w), mask)
        return tokens.transpose(1, 2).reshape(b, c, h, w)


class _PatchEmbed(nn.Module):
    """Non-overlapping 4x4 patch projection (input zero-padded on the right/bottom to
    a multiple of 4) followed by LayerNorm. (B, 3, H, W) -> (B, C0, ceil(H/4), ceil(W/4))."""

    def __init__(self, in_channels: int, dim: int, patch_size: int = 4):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)
        self.norm = _LayerNormFP32NCHW(dim, eps=_LN_EPS)

    def forward(self, x: Tensor) -> Tensor:
        p = self.patch_size
        h, w = x.shape[-2:]
        if h % p or w % p:
            x = F.pad(x, (0, (p - w % p) % p, 0, (p - h % p) % p))
        return self.norm(self.proj(x))


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
    """SwinV2 backbone of All-in-Tokens (AiT ``SwinV2TransformerRPE2FC``) as a teacher.

    The depth and COCO instance-segmentation teachers of supplementary 6.3.1 (SwinV2-B,
    Liu et al. CVPR 2022, fine-tuned in AiT, Ning et al. 2023). Parameter and buffer
    names/shapes equal the ``backbone.*`` entries of the AiT checkpoints
    (``ait_depth_swinv2b_ar.pth``, ``ait_insseg_swinv2b.pth``); load them with
    ``teacher_ckpt=<file>, teacher_ckpt_prefix='backbone.', teacher_ckpt_strict=True``.
    See the module docstring for the architecture details and the hookable module
    names (``patch_embed``, ``layers.{i}``, ``layers.{i}.downsample``,
    ``layers.{i}.blocks.{j}``, ``norm3``).

    Input: (B, 3, H, W) RGB images, normalised as the checkpoint was trained: the
    NYUv2 depth model saw RGB / 255 in [0, 1] without mean/std (AiT's ``nyudepthv2``
    dataset applies only ``ToTensor``; with the distiller set
    ``teacher_norm=dict(mean=[0, 0, 0], std=[255, 255, 255])``), the COCO model
    ImageNet mean (123.675, 116.28, 103.53) / std (58.395, 57.12, 57.375) on the 0-255
    scale (its mmdet ``Normalize``). Any H, W works: the image is zero-padded to a multiple of 4 and
    every block's token map to a multiple of its window (as in AiT), so stage i has
    ``ceil(H / 2^(i+2)) x ceil(W / 2^(i+2))`` tokens. AiT fine-tuned the depth model on
    480 x 480 NYUv2 crops (evaluated with 480 x 480 sliding windows over 480 x 640) and
    the COCO model on 640 x 640 inputs; with windows (30, 30, 30, 15) a 480 x 480 input
    fills whole windows, 480 x 640 and 640 x 640 are padded.

    Args:
        arch (str | dict): ``'base'`` (SwinV2-B, the AiT teachers: C0 = 128, depths
            (2, 2, 18, 2), heads (4, 8, 16, 32)), ``'large'`` (AiT's SwinV2-L),
            ``'tiny'``, ``'small'``, or a dict with ``embed_dim``, ``depths``,
            ``num_heads`` (4 stages).
        img_size (int | tuple[int, int]): Nominal (H, W) input size in pixels; sets
            :attr:`out_shapes` (the (C, H, W) of each output). It does not change any
            weight (AiT has no absolute position embedding). Defaults to (480, 640).
        window_size (int | Sequence[int]): Window size per stage in tokens. Defaults
            to AiT's (30, 30, 30, 15).
        pretrained_window_sizes (int | Sequence[int]): Pre-training window per stage,
            normalising the log-spaced coordinates. Defaults to AiT's (12, 12, 12, 6).
        use_shift (bool | Sequence[bool]): Shifted windows on odd blocks, per stage.
            Defaults to the AiT depth configs' (True, True, False, False); set
            ``True`` for the COCO instance-segmentation teacher.
        out_indices (Sequence[int]): Stages returned by :meth:`forward`.
            Defaults to (0, 1, 2, 3).
        norm_indices (Sequence[int]): Stages with an output LayerNorm ``norm{i}``,
            applied to the returned map. Defaults to (3,), the AiT configs'
            ``out_indices``: the checkpoints hold ``norm3`` only.
        drop_path_rate (float): Stochastic depth, linear over all blocks (AiT depth:
            0.1, COCO: 0.3; inactive in eval).
        rpe_hidden_dim (int): Hidden width of ``rpe_mlp``. Defaults to 512.
        mlp_ratio (float): Defaults to 4.
        in_channels (int): Defaults to 3.
        init_cfg (dict, optional): MMEngine init config (e.g. ``dict(type='Pretrained',
            checkpoint=..., prefix='backbone.')``).

    Raises:
        ValueError: unknown ``arch``, per-stage values of the wrong length/type,
            ``out_indices``/``norm_indices`` outside 0..3, a window of 1 or less,
            a pre-training window below 2.
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
                 rpe_hidden_dim: int = 512,
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

        self.patch_embed = _PatchEmbed(in_channels, self.embed_dim)
        self.pos_drop = nn.Dropout(0.)
        total = sum(self.depths)  # linear stochastic-depth rule, as torch.linspace
        dpr = [drop_path_rate * k / max(total - 1, 1) for k in range(total)]
        self.layers = nn.ModuleList()
        for i in range(n):
            first = sum(self.depths[:i])
            self.layers.append(_SwinStage(
                self.num_features[i], self.depths[i], heads[i], windows[i], pre_windows[i],
                shifts[i], dpr[first:first + self.depths[i]], downsample=i < n - 1,
                mlp_ratio=mlp_ratio, rpe_hidden_dim=rpe_hidden_dim))
        for i in self.norm_indices:
            self.add_module(f'norm{i}', _LayerNormFP32NCHW(self.num_features[i], eps=_LN_EPS))
        self.apply(self._init_linear)

    @staticmethod
    def _init_linear(m: nn.Module) -> None:
        # AiT/Swin initialisation: trunc_normal_(std=0.02) linears (whose bounds, +-2,
        # are 100 std away: the same law as a normal clamped to them, sampled faster),
        # zero biases.
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
            x (Tensor): (B, 3, H, W) normalised images.

        Returns:
            tuple[Tensor]: One (B, C_i, ceil(H / 2^(i+2)), ceil(W / 2^(i+2))) map per
            ``out_indices`` entry, C_i = embed_dim * 2^i; stage i is passed through
            ``norm{i}`` when it has one.

        Raises:
            ValueError: if ``x`` is not (B, in_channels, H, W).
        """
        cin = self.patch_embed.proj.in_channels
        if x.dim() != 4 or x.shape[1] != cin:
            raise ValueError(f'AiTSwinV2 expects a (B, {cin}, H, W) image batch, got shape '
                             f'{tuple(x.shape)}')
        x = self.pos_drop(self.patch_embed(x))
        outs = []
        last = max(self.out_indices, default=-1)
        for i, stage in enumerate(self.layers):
            feat = stage(x)
            if i in self.out_indices:
                outs.append(getattr(self, f'norm{i}')(feat) if i in self.norm_indices else feat)
            if i == last:
                break
            x = stage.downsample(feat)
        return tuple(outs)

    def extra_repr(self) -> str:
        return f'img_size={self.img_size}, out_indices={self.out_indices}'


def ait_swinv2_state_dict_keys(arch: Union[str, dict] = 'base',
                               **kwargs) -> 'OrderedDict[str, Tuple[int, ...]]':
    """Names and shapes of the state dict of an :class:`AiTSwinV2` (parameters and the
    persistent buffers), without allocating it (built on the meta device).

    Compare it with a downloaded AiT checkpoint, e.g.::

        ckpt = torch.load('ait_depth_swinv2b_ar.pth', map_location='cpu')['state_dict']
        got = {k[9:]: tuple(v.shape) for k, v in ckpt.items() if k.startswith('backbone.')}
        assert got == dict(ait_swinv2_state_dict_keys('base'))

    Args:
        arch (str | dict): As in :class:`AiTSwinV2`.
        **kwargs: Other :class:`AiTSwinV2` arguments (``window_size``, ``norm_indices``
            ...; ``img_size`` does not change the keys).

    Returns:
        OrderedDict[str, tuple[int, ...]]: key (without ``backbone.``) -> shape.
    """
    with torch.device('meta'):
        model = AiTSwinV2(arch=arch, **kwargs)
    return OrderedDict((k, tuple(v.shape)) for k, v in model.state_dict().items())

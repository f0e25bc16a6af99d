# Copyright (c) mmkd-invproj authors. All rights reserved.
"""sRGB <-> CIE L*a*b* (D65) in PyTorch, for the L -> ab colorization mode.

The formulas are the CIE 1976 L*a*b* definitions with the sRGB (IEC 61966-2-1)
transfer function and primaries and the D65 white point, as in scikit-image's
``rgb2lab`` / ``lab2rgb`` (which the official colorization dataset uses).
"""
import torch
from torch import Tensor

#: linear sRGB -> CIE XYZ (D65)
_RGB2XYZ = ((0.412453, 0.357580, 0.180423),
            (0.212671, 0.715160, 0.072169),
            (0.019334, 0.119193, 0.950227))
#: D65 reference white (X, Y, Z)
_WHITE = (0.95047, 1.0, 1.08883)
_EPS = 0.008856  # (6/29)^3
_KAPPA = 7.787   # (29/6)^2 / 3


def _matrix(rows, ref: Tensor) -> Tensor:
    return torch.tensor(rows, dtype=ref.dtype, device=ref.device)


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB in [0, 1], (B, 3, H, W) -> L*a*b* (B, 3, H, W): L in [0, 100], a and b
    roughly in [-110, 110]. Computed in float32 (or the input's float64)."""
    rgb = rgb.float() if rgb.dtype != torch.float64 else rgb
    lin = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = torch.einsum('ij,bjhw->bihw', _matrix(_RGB2XYZ, lin), lin)
    xyz = xyz / _matrix(_WHITE, xyz).view(1, 3, 1, 1)
    f = torch.where(xyz > _EPS, xyz.clamp_min(_EPS) ** (1 / 3), _KAPPA * xyz + 16 / 116)
    fx, fy, fz = f.unbind(1)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], 1)


def lab_to_rgb(lab: Tensor) -> Tensor:
    """L*a*b* (B, 3, H, W) -> sRGB in [0, 1] (B, 3, H, W), out-of-gamut values clipped."""
    lab = lab.float() if lab.dtype != torch.float64 else lab
    L, a, b = lab.unbind(1)
    fy = (L + 16) / 116
    f = torch.stack([a / 500 + fy, fy, (fy - b / 200).clamp_min(0)], 1)
    xyz = torch.where(f > 0.2068966, f ** 3, (f - 16 / 116) / _KAPPA)
    xyz = xyz * _matrix(_WHITE, xyz).view(1, 3, 1, 1)
    lin = torch.einsum('ij,bjhw->bihw', torch.linalg.inv(_matrix(_RGB2XYZ, xyz)), xyz)
    rgb = torch.where(lin > 0.0031308, 1.055 * lin.clamp_min(0.0031308) ** (1 / 2.4) - 0.055,
                      12.92 * lin)
    return rgb.clamp(0, 1)

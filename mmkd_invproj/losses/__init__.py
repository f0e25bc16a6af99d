# Copyright (c) mmkd-invproj authors. All rights reserved.
from .at import ATLoss, at_loss, attention_map
from .fitnets import FitNetsLoss
from .pkt import PKTLoss, pkt_loss
from .silog import ScaleInvariantLogLoss, scale_invariant_log_loss
from .spectral import SpectralLoss, spectral_residual

__all__ = ['FitNetsLoss', 'ATLoss', 'at_loss', 'attention_map', 'PKTLoss', 'pkt_loss',
           'ScaleInvariantLogLoss', 'scale_invariant_log_loss', 'SpectralLoss',
           'spectral_residual']

# Copyright (c) mmkd-invproj authors. All rights reserved.
from .depth_decoders import DEPTH_DECODERS, SkipDecoderDepthHead

__all__ = ['DEPTH_DECODERS', 'SkipDecoderDepthHead']

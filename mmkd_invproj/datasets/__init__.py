# Copyright (c) mmkd-invproj authors. All rights reserved.
from .loading import (LoadAnnotations, LoadDepthAnnotation, LoadImageFromFile,
                      UnreadableFileError)

__all__ = ['LoadImageFromFile', 'LoadAnnotations', 'LoadDepthAnnotation', 'UnreadableFileError']

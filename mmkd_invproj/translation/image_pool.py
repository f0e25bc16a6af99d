# Copyright (c) mmkd-invproj authors. All rights reserved.
"""The history of generated images CycleGAN's discriminators are trained on."""
import random
from typing import List

import torch
from torch import Tensor


class ImagePool:
    """A buffer of up to ``pool_size`` generated images (Shrivastava et al., CVPR 2017).

    CycleGAN updates its discriminators on a mix of the newest generated images and
    older ones, as the official ``util/image_pool.py``: for each image of the batch,
    while the pool is not full it is stored and returned; once full, with probability
    1/2 it replaces a uniformly chosen stored image, which is returned instead, else
    it is returned itself. ``pool_size=0`` returns the batch unchanged. Randomness
    comes from Python's ``random`` (seeded by MMEngine's ``randomness``). The pool
    is per process (per rank under DDP) and not saved in checkpoints (as in the
    official code).

    Args:
        pool_size (int): Capacity. Defaults to 50 (CycleGAN).
    """

    def __init__(self, pool_size: int = 50) -> None:
        if pool_size < 0:
            raise ValueError(f'pool_size must be >= 0, got {pool_size}')
        self.pool_size = pool_size
        self.images: List[Tensor] = []

    def query(self, images: Tensor) -> Tensor:
        """Images (B, C, H, W) -> (B, C, H, W) drawn from the batch and the history
        (detached; the stored images are the batch's, detached)."""
        images = images.detach()
        if self.pool_size == 0:
            return images
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                idx = random.randint(0, self.pool_size - 1)
                out.append(self.images[idx].clone())
                self.images[idx] = image
            else:
                out.append(image)
        return torch.cat(out, 0)

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Image-translation datasets in the official pix2pix layout (MMEngine dataset API)."""
import os.path as osp
import random
from typing import List

from mmengine.dataset import BaseDataset

from ..registry import DATASETS
from ..utils.images import list_images

#: where the official pix2pix archives are published (supplementary 6.6)
PIX2PIX_URL = 'https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/'
#: archives published there
PIX2PIX_ARCHIVES = ('facades', 'maps', 'cityscapes', 'edges2shoes', 'edges2handbags',
                    'night2day')


def missing_dataset_message(folder: str, data_root: str) -> str:
    """What to download and where it goes, for a missing or empty split folder."""
    name = osp.basename(osp.normpath(data_root))
    archive = f'{name}.tar.gz' if name in PIX2PIX_ARCHIVES else 'facades.tar.gz or maps.tar.gz'
    return (f'no images in {folder}. The pix2pix datasets (CMP Facades, Maps; supplementary '
            f'6.6) are expected in the official layout {data_root}/{{train,val,test}}/*.jpg, '
            f'each image the A|B pair side by side. Download {archive} from {PIX2PIX_URL} and '
            f'unpack it there with: python tools/dataset_converters/pix2pix.py '
            f'{name if name in PIX2PIX_ARCHIVES else "<name>"}.tar.gz {data_root}')


@DATASETS.register_module()
class TranslationDataset(BaseDataset):
    """The images of ``data_root/split`` for image-to-image translation.

    Every image file of the split folder (recursively, sorted; the extensions of
    :data:`~mmkd_invproj.utils.images.IMG_EXTENSIONS`, hidden files left out) is one
    sample ``dict(img_path=...)``; the pipeline's :class:`LoadTranslationImages` makes the
    two domains from it (the A|B halves of an official pix2pix image, or a grey /
    colour pair for colorization). With ``paired=False`` (CycleGAN training, the
    official ``unaligned`` mode) each sample also gets ``img_path_B``, a uniformly
    drawn image of the split (Python's ``random``, seeded by MMEngine), from which
    domain B is taken instead: A and B come from different images.

    Args:
        data_root (str): Dataset folder (``data/facades``).
        split (str): Sub-folder, ``'train'``, ``'val'`` or ``'test'`` (``''``:
            ``data_root`` itself).
        paired (bool): Take both domains from the same image. Defaults to True.
        **kwargs: ``mmengine.dataset.BaseDataset`` arguments (``pipeline``,
            ``test_mode``, ``indices``, ``serialize_data``, ``lazy_init``).

    Raises:
        FileNotFoundError: when the split folder is missing or holds no image; the
            message says what to download and the command that puts it in place.
    """

    METAINFO: dict = dict()

    def __init__(self, data_root: str, split: str = 'train', paired: bool = True,
                 **kwargs) -> None:
        self.split = split
        self.paired = paired
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        """``[dict(img_path=...), ...]`` of the split folder."""
        folder = osp.join(self.data_root, self.split)
        files = list_images(folder) if osp.isdir(folder) else []
        if not files:
            raise FileNotFoundError(missing_dataset_message(folder, self.data_root))
        return [dict(img_path=f) for f in files]

    def get_data_info(self, idx: int) -> dict:
        """The sample ``idx``; unpaired, with ``img_path_B`` from a random image."""
        info = super().get_data_info(idx)
        if not self.paired:
            partner = random.randint(0, len(self) - 1)
            info['img_path_B'] = super().get_data_info(partner)['img_path']
        return info

"""Shared by the segmentation tests: point an MMSeg ADE20K config at the real
ade_mini pairs with tiny crops and a few iterations, offline."""
import os.path as osp

from mmengine.config import Config

from .conftest import SHARED

ADE_MINI = osp.join(SHARED, 'data', 'ade_mini')
MMSEG_ADE_DEEPLABV3 = 'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-80k_ade20k-512x512.py'


#: MMSeg's own R18-D8 DeepLabV3 recipe (configs/deeplabv3/deeplabv3_r18-d8_*.py) for the
#: R50-D8 students of configs/seg: the same architecture family and feature index
#: (backbone output 3, stride 8, 512 channels), a fifth of the parameters, so a
#: CPU training step in a test takes seconds (AdamW and the gradients of R50-D8's
#: 68 M parameters dominate a step at test input sizes)
LIGHT_STUDENT = {
    'backbone.depth': 18,
    'decode_head.in_channels': 512, 'decode_head.channels': 128,
    'auxiliary_head.in_channels': 256, 'auxiliary_head.channels': 64,
}


def light_student_options(prefix: str = 'model.student.') -> list:
    """``LIGHT_STUDENT`` as ``--cfg-options`` arguments."""
    return [f'{prefix}{k}={v}' for k, v in LIGHT_STUDENT.items()]


def pipeline_index(pipeline, type_name: str) -> int:
    """Index of the (single) transform of ``type_name`` in a pipeline list."""
    hits = [i for i, t in enumerate(pipeline) if t['type'] == type_name]
    assert len(hits) == 1, (type_name, pipeline)
    return hits[0]


def tiny_ade_cfg(cfg: Config, work_dir: str, crop: int = 64, iters: int = 2,
                 light_student: bool = False) -> Config:
    """``cfg`` (an MMSeg ADE20K config, distilled or not) trained for ``iters``
    iterations at batch 2 on ade_mini's 2 training images, ``crop`` x ``crop`` crops,
    no validation, no checkpoints, nothing downloaded (the student's ImageNet
    initialisation is off), optionally with ``LIGHT_STUDENT``. Everything else stays
    as the config has it."""
    size = (crop, crop)
    scale = (4 * crop, crop)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg[loader]
        dl.update(num_workers=0, persistent_workers=False)
        dl.dataset.data_root = ADE_MINI
        for t in dl.dataset.pipeline:
            if t['type'] in ('RandomResize', 'Resize'):
                t['scale'] = scale
            if t['type'] == 'RandomCrop':
                t['crop_size'] = size
    cfg.train_dataloader.batch_size = 2
    cfg.data_preprocessor.size = size
    student = cfg.model.student if cfg.model.type == 'CrossTaskDistiller' else cfg.model
    student.data_preprocessor.size = size
    student.pretrained = None
    if light_student:
        prefix = 'model.student.' if cfg.model.type == 'CrossTaskDistiller' else 'model.'
        cfg.merge_from_dict({prefix + k: v for k, v in LIGHT_STUDENT.items()})
    if cfg.model.type == 'CrossTaskDistiller':
        cfg.model.infer_input_size = size
    if cfg.train_cfg.type == 'EpochBasedTrainLoop':  # 2 images, batch 2: 1 iter per epoch
        cfg.train_cfg.update(max_epochs=iters, val_interval=iters + 1)
    else:
        cfg.train_cfg.update(max_iters=iters, val_interval=iters + 1)
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    return cfg

# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Run a trained student on images and videos without ground truth (``tools/infer.py``).

``mmseg.apis.inference_model`` builds its pipeline from the config's test pipeline and
removes only ``LoadAnnotations``; a depth config's ``LoadDepthAnnotation`` then fails
with ``KeyError: 'depth_map_path'``. Here every annotation loader is dropped and the
image comes in as an array, so files and video frames go through one pipeline.
"""
import copy
import os
import os.path as osp
from collections import Counter
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from ..registry import MODELS
from ..utils.depth_io import write_depth_png
from ..utils.images import IMG_EXTENSIONS, has_extension, list_images
from .checkpoint import load_weights

#: the video extensions tools/infer.py reads frame by frame (images: IMG_EXTENSIONS)
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')


def student_config(cfg: Config) -> dict:
    """The config of the model that makes the predictions: a distiller's ``student``.

    As MMEngine's Runner does, a top-level ``data_preprocessor`` replaces the
    model's (for a distiller: the student's, which the distiller runs).
    """
    model = copy.deepcopy(cfg.model)
    if model.get('type') == 'CrossTaskDistiller':
        model = model.student
    if cfg.get('data_preprocessor'):
        model['data_preprocessor'] = copy.deepcopy(cfg.data_preprocessor)
    return model


def _dataset_meta(cfg: Config) -> dict:
    """``classes`` / ``palette`` of the config's test dataset class (empty for depth)."""
    from mmseg.registry import DATASETS
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    ds_type = (loader.get('dataset') or {}).get('type')
    cls = DATASETS.get(ds_type) if isinstance(ds_type, str) else None
    meta = dict(getattr(cls, 'METAINFO', {}) or {})
    return {k: meta[k] for k in ('classes', 'palette') if k in meta}


def init_student(config: Union[str, Config], checkpoint: str,
                 device: Optional[str] = None) -> nn.Module:
    """Build the predicting model of ``config`` and load ``checkpoint`` into it.

    Args:
        config (str | Config): A student config or a ``CrossTaskDistiller`` config
            (its ``student`` is built: no teacher, no projectors, nothing downloaded).
        checkpoint (str): A distiller checkpoint or an exported student
            (:func:`~mmkd_invproj.apis.checkpoint.load_weights`).
        device (str, optional): ``'cpu'``, ``'cuda'``, ``'cuda:1'`` ...; None: CUDA
            when available.

    Returns:
        nn.Module: The model in eval mode on ``device``, with ``cfg`` (the config)
        and ``dataset_meta`` (the test dataset's ``classes`` / ``palette``) set.

    Raises:
        FileNotFoundError, KeyError: from ``load_weights``.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(student_config(cfg))
    load_weights(model, checkpoint)
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model.cfg = cfg
    model.dataset_meta = _dataset_meta(cfg)
    return model.to(device).eval()


def build_inference_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline for an image array, without ground-truth loading.

    The first transform (``LoadImageFromFile``) becomes ``LoadImageFromNDArray``;
    every ``Load*Annotation*`` transform is dropped. Inputs are BGR uint8 arrays
    (H, W, 3), as ``mmcv.imread`` returns them.

    Raises:
        KeyError: when the config has no test pipeline.
    """
    loader = cfg.get('test_dataloader') or {}
    pipeline = (loader.get('dataset') or {}).get('pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        raise KeyError('the config has no test pipeline (test_dataloader.dataset.pipeline '
                       'or test_pipeline)')
    steps = [copy.deepcopy(t) for t in pipeline
             if not (t['type'].startswith('Load') and 'Annotation' in t['type'])]
    if steps[0]['type'] == 'LoadImageFromFile':
        steps[0] = dict(type='LoadImageFromNDArray')
    return Compose(steps)


@torch.no_grad()
def predict(model: nn.Module, pipeline: Compose, image_bgr: np.ndarray):
    """Predict one image.

    Args:
        model (nn.Module): From :func:`init_student`.
        pipeline (Compose): From :func:`build_inference_pipeline`.
        image_bgr (np.ndarray): (H, W, 3) BGR uint8 image.

    Returns:
        SegDataSample: ``pred_depth_map`` (1, H, W) in metres or ``pred_sem_seg``
        (1, H, W) class indices, at the input's size.
    """
    data = pipeline(dict(img=image_bgr))
    batch = dict(inputs=[data['inputs']], data_samples=[data['data_samples']])
    return model.test_step(batch)[0]


def iter_inputs(inputs: Sequence[str]) -> List[Tuple[str, str]]:
    """Expand image files, folders (their images and videos, recursively; hidden
    files left out: :func:`~mmkd_invproj.utils.images.list_images`) and videos.

    Returns:
        list[tuple[str, str]]: (path, output name) in order: a file's name without
        extension (with it, as ``name_jpg``, when two inputs share a name); a
        folder's images keep their path below the folder.

    Raises:
        FileNotFoundError: for an input that does not exist or a folder without images.
        ValueError: for a file that is neither an image nor a video (by extension).
    """
    items = []
    for path in inputs:
        if osp.isdir(path):
            found = list_images(path, IMG_EXTENSIONS + VIDEO_EXTENSIONS, relative=True)
            if not found:
                raise FileNotFoundError(f'no image or video in folder {path} '
                                        f'(extensions {IMG_EXTENSIONS + VIDEO_EXTENSIONS})')
            items += [(osp.join(path, f), osp.splitext(f)[0]) for f in found]
        elif osp.isfile(path):
            if not has_extension(path, IMG_EXTENSIONS + VIDEO_EXTENSIONS):
                raise ValueError(f'{path}: not an image {IMG_EXTENSIONS} or a video '
                                 f'{VIDEO_EXTENSIONS}')
            items.append((path, osp.splitext(osp.basename(path))[0]))
        else:
            raise FileNotFoundError(f'input {path} does not exist')
    counts = Counter(name for _, name in items)
    # `a.jpg` and `a.png` side by side: keep the extension in both names
    return [(path, f'{name}_{osp.splitext(path)[1][1:]}' if counts[name] > 1 else name)
            for path, name in items]


def is_video(path: str) -> bool:
    """Whether ``path`` names a video (by extension, :data:`VIDEO_EXTENSIONS`)."""
    return has_extension(path, VIDEO_EXTENSIONS)


def video_frames(path: str) -> Tuple[Iterator[np.ndarray], int, float]:
    """Read a video: (BGR uint8 (H, W, 3) frames, frame count as the container states
    it, frames per second; 25 when unknown).

    Raises:
        OSError: when OpenCV cannot open ``path``.
    """
    import cv2
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise OSError(f'OpenCV cannot read the video {path}')
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0

    def frames():
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    return
                yield frame
        finally:
            cap.release()
    return frames(), count, fps


class PredictionWriter:
    """Writes one prediction as files (what ``tools/infer.py`` produces).

    Depth (``pred_depth_map``, metres): ``<name>_depth.png`` (uint16, millimetres,
    0 = none; :func:`~mmkd_invproj.utils.depth_io.depth_to_png16`),
    ``<name>_depth.npy`` (float32 metres, (H, W)) and ``<name>_preview.png`` (input
    and prediction with a colour bar in metres). Segmentation (``pred_sem_seg``):
    ``<name>_label.png`` (class indices into the config's dataset ``classes``,
    uint8, uint16 beyond 255 classes) and ``<name>_overlay.png`` (MMSeg's
    ``SegLocalVisualizer``).

    Args:
        out_dir (str): Output folder (created).
        dataset_meta (dict): ``classes`` / ``palette`` for the overlays.
        preview (bool): Write the preview / overlay pictures.
        max_depth (float, optional): Top of the preview colour scale in metres
            (None: each image's 99th percentile).
    """

    def __init__(self, out_dir: str, dataset_meta: Optional[dict] = None, preview: bool = True,
                 max_depth: Optional[float] = None) -> None:
        self.out_dir = out_dir
        self.dataset_meta = dataset_meta or {}
        self.preview = preview
        self.max_depth = max_depth
        self._visualizer = None
        os.makedirs(out_dir, exist_ok=True)

    def _seg_visualizer(self):
        if self._visualizer is None:
            from mmseg.visualization import SegLocalVisualizer
            self._visualizer = SegLocalVisualizer.get_instance(
                f'mmkd_invproj_infer_{id(self)}', vis_backends=None, save_dir=None)
            if self.dataset_meta:
                self._visualizer.dataset_meta = dict(self.dataset_meta)
        return self._visualizer

    def picture(self, sample, image_bgr: np.ndarray) -> Optional[np.ndarray]:
        """The preview / overlay of a prediction as RGB uint8 (H', W', 3)."""
        image_rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        if 'pred_depth_map' in sample:
            from ..visualization.depth import depth_panel
            depth = sample.pred_depth_map.data.float().cpu().numpy()[0]
            return depth_panel(image_rgb, depth, max_depth=self.max_depth)
        vis = self._seg_visualizer()
        vis.add_datasample('overlay', image_rgb, sample, draw_gt=False, out_file=None)
        return vis.get_image()

    def write(self, sample, image_bgr: np.ndarray, name: str) -> List[str]:
        """Write the files of one prediction; returns their paths.

        Raises:
            KeyError: when ``sample`` holds neither ``pred_depth_map`` nor
                ``pred_sem_seg``.
        """
        import cv2
        base = osp.join(self.out_dir, name)
        os.makedirs(osp.dirname(base), exist_ok=True)
        written = []
        if 'pred_depth_map' in sample:
            depth = sample.pred_depth_map.data.float().cpu().numpy()[0]
            write_depth_png(base + '_depth.png', depth)
            np.save(base + '_depth.npy', depth.astype(np.float32))
            written += [base + '_depth.png', base + '_depth.npy']
        elif 'pred_sem_seg' in sample:
            labels = sample.pred_sem_seg.data.cpu().numpy()[0]
            n_classes = len(self.dataset_meta.get('classes', ())) or int(labels.max()) + 1
            dtype = np.uint8 if n_classes <= 256 else np.uint16
            cv2.imwrite(base + '_label.png', labels.astype(dtype))
            written.append(base + '_label.png')
        else:
            raise KeyError(f'the prediction has neither pred_depth_map nor pred_sem_seg: '
                           f'{list(sample.keys())}')
        if self.preview:
            suffix = '_preview.png' if 'pred_depth_map' in sample else '_overlay.png'
            cv2.imwrite(base + suffix, self.picture(sample, image_bgr)[:, :, ::-1])
            written.append(base + suffix)
        return written

"""tools/test.py --show-dir / --out / --show on the 3 real sample test frames, without
any training data, and the depth panel it draws. The files are read back and checked:
shapes, dtypes, millimetres, and the metrics recomputed from the written depth PNGs."""
import glob
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmkd_invproj  # noqa: F401
from mmkd_invproj.hooks import PredictionVisualizationHook
from mmkd_invproj.utils.depth_io import depth_to_png16
from mmkd_invproj.visualization import DepthPanelVisualizer, colorize, depth_panel, depth_range
from mmkd_invproj.visualization.depth import DEPTH_CMAP, INVALID_RGB

from .conftest import NYU_MINI, REPO, run_tool
from .seg_utils import ADE_MINI, LIGHT_STUDENT, light_student_options

TEST_FRAMES = ('nyu_bookstore_0001d_00001', 'nyu_raw_0000', 'redwood_0004')


def final_metrics(work_dir):
    files = glob.glob(osp.join(work_dir, '*', '*.json'))
    assert len(files) == 1, files
    with open(files[0]) as f:
        return json.loads(f.read().splitlines()[-1])


# ---------------------------------------------------------------------- depth, CLI
@pytest.fixture(scope='module')
def depth_test_run(demo_run, tmp_path_factory):
    """tools/test.py on the student config (its training root data/nyu does not exist)
    with the demo's *distiller* checkpoint, --show-dir and --out."""
    assert not osp.exists(osp.join(REPO, 'data', 'nyu', 'images', 'train'))
    tmp = tmp_path_factory.mktemp('depth_test')
    run_tool('test.py', 'configs/depth/mbv2_baseline.py', osp.join(demo_run, 'epoch_40.pth'),
             '--work-dir', str(tmp / 'work'), '--show-dir', str(tmp / 'show'),
             '--out', str(tmp / 'out'), '--cfg-options',
             f'test_dataloader.dataset.data_root={NYU_MINI}',
             'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
             check=True)
    return tmp


def test_show_dir_writes_one_depth_panel_per_test_image(depth_test_run):
    files = sorted(os.listdir(depth_test_run / 'show'))
    assert files == [f'{n}.png' for n in TEST_FRAMES]
    for name in files:
        panel = cv2.imread(str(depth_test_run / 'show' / name), cv2.IMREAD_UNCHANGED)
        # 4 panels of 3.2 in at 100 dpi, height 3.2 in x 3/4 (all frames are 4:3) + 0.9 in
        assert panel.dtype == np.uint8 and panel.shape == (330, 1280, 3), (name, panel.shape)
        assert len(np.unique(panel.reshape(-1, 3), axis=0)) > 500  # images, not a blank page


def test_out_writes_millimetres(depth_test_run):
    """Each PNG is the prediction in millimetres at the frame's size: the metrics the
    tool logged, recomputed from the PNGs and the ground truth, agree to the 1 mm
    quantisation (with metres cast to integers they would be off by metres)."""
    rmse, abs_rel = [], []
    for name in TEST_FRAMES:
        pred = cv2.imread(str(depth_test_run / 'out' / f'{name}.png'), cv2.IMREAD_UNCHANGED)
        gt_mm = cv2.imread(osp.join(NYU_MINI, 'annotations', 'test', f'{name}.png'),
                           cv2.IMREAD_UNCHANGED)
        assert pred.dtype == np.uint16 and pred.shape == gt_mm.shape
        assert 300 < np.median(pred) < 10000 and pred.max() <= 10000  # mm, max_depth 10 m
        pred_m, gt_m = pred.astype(np.float64) / 1000, gt_mm.astype(np.float64) / 1000
        mask = (gt_m > 1e-3) & (gt_m < 10.0)
        crop = np.zeros_like(mask)
        crop[45:471, 41:601] = True  # DepthMetric's nyu_crop
        mask &= crop
        diff = pred_m[mask] - gt_m[mask]
        rmse.append(np.sqrt(np.mean(diff ** 2)))
        abs_rel.append(np.mean(np.abs(diff) / gt_m[mask]))
    logged = final_metrics(str(depth_test_run / 'work'))
    assert abs(np.mean(rmse) - logged['rmse']) < 2e-3
    assert abs(np.mean(abs_rel) - logged['abs_rel']) < 2e-3


def test_show_calls_the_window_with_wait_time(tmp_path):
    """--show: each drawing goes to the visualizer's window for --wait-time seconds and
    is not stored."""
    vis = DepthPanelVisualizer.get_instance('test_show_window', vis_backends=[dict(
        type='LocalVisBackend')], save_dir=str(tmp_path))
    shown = []
    vis.show = lambda img, win_name='', wait_time=0, **kw: shown.append(
        (img.shape, win_name, wait_time))
    hook = PredictionVisualizationHook(draw=True, show=True, wait_time=1.5)
    hook._visualizer = vis
    img_path = osp.join(NYU_MINI, 'images', 'test', 'redwood_0004.jpg')
    sample = SegDataSample(metainfo=dict(img_path=img_path))
    sample.pred_depth_map = PixelData(data=torch.full((1, 480, 640), 2.0))
    hook.after_test_iter(None, 0, {}, [sample])
    assert shown == [((330, 640, 3), 'test_redwood_0004', 1.5)]  # input + prediction
    assert not glob.glob(str(tmp_path / '**' / '*.png'), recursive=True)


# ---------------------------------------------------------------------- segmentation
def test_show_dir_and_out_for_segmentation(tmp_path):
    """The segmentation baseline (ResNet-18 variant) on the held-out ADE20K image: MMSeg's
    overlays (ground truth | prediction) and a label PNG."""
    from mmengine.registry import MODELS, init_default_scope
    opts = light_student_options('model.')
    cfg = Config.fromfile(osp.join(REPO, 'configs/seg/deeplabv3_r50_baseline.py'))
    cfg.merge_from_dict({f'model.{k}': v for k, v in LIGHT_STUDENT.items()})
    cfg.model.pretrained = None
    init_default_scope('mmseg')
    torch.manual_seed(0)
    ckpt = tmp_path / 'seg.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), ckpt)
    run_tool('test.py', 'configs/seg/deeplabv3_r50_baseline.py', str(ckpt), '--work-dir',
             str(tmp_path / 'work'), '--show-dir', str(tmp_path / 'show'), '--out',
             str(tmp_path / 'out'), '--cfg-options', *opts, 'model.pretrained=None',
             f'test_dataloader.dataset.data_root={ADE_MINI}', 'test_dataloader.num_workers=0',
             'test_dataloader.persistent_workers=False', check=True)
    image = cv2.imread(osp.join(ADE_MINI, 'images', 'validation', 'ADE_val_00000003.jpg'))
    h, w = image.shape[:2]
    overlay = cv2.imread(str(tmp_path / 'show' / 'ADE_val_00000003.png'))
    assert overlay.shape == (h, 2 * w, 3)  # ground truth | prediction
    assert np.abs(overlay[:, :w].astype(int) - image).mean() > 10  # coloured classes
    label = cv2.imread(str(tmp_path / 'out' / 'ADE_val_00000003.png'), cv2.IMREAD_UNCHANGED)
    assert label.dtype == np.uint8 and label.shape == (h, w) and label.max() <= 150


# ---------------------------------------------------------------------- units
def test_colorize_scale_ends_and_invalid_pixels():
    from matplotlib import colormaps
    depth = np.array([[0.0, 1.0, 2.0, 4.0, np.nan]])
    rgb = colorize(depth, 0.0, 2.0)
    cmap = colormaps[DEPTH_CMAP]
    expect = lambda x: np.rint(np.asarray(cmap(x)[:3]) * 255)  # noqa: E731
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 5, 3)
    assert np.array_equal(rgb[0, 1], expect(0.5))
    assert np.array_equal(rgb[0, 2], expect(1.0)) and np.array_equal(rgb[0, 3], expect(1.0))
    invalid = np.rint(np.asarray(INVALID_RGB) * 255)
    assert np.array_equal(rgb[0, 0], invalid) and np.array_equal(rgb[0, 4], invalid)


def test_depth_range_ignores_invalid_pixels():
    gt = np.zeros((10, 10))
    gt[:5] = 3.0
    pred = np.full((10, 10), 2.0)
    assert depth_range(pred, gt) == (0.0, 3.0)
    assert depth_range(np.zeros((2, 2))) == (0.0, 1.0)


def test_depth_panel_layout():
    image = np.zeros((48, 64, 3), np.uint8)
    pred = np.full((24, 32), 2.0)  # resized to the image
    gt = np.full((48, 64), 2.5)
    assert depth_panel(image, pred, gt).shape == (330, 1280, 3)
    assert depth_panel(image, pred).shape == (330, 640, 3)


def test_depth_png16_is_millimetres():
    got = depth_to_png16(np.array([[1.2344, 0.0], [np.nan, 70.0], [0.0005, 65.535]]))
    assert got.dtype == np.uint16
    assert got.tolist() == [[1234, 0], [0, 0], [0, 65535]]

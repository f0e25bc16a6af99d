"""tools/infer.py on real images, a folder and a video made of real frames, with a
distiller checkpoint and an exported student; the written files are read back:
shapes, dtypes, millimetres vs metres, previews, the video."""
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

import mmkd_invproj  # noqa: F401
from mmkd_invproj.apis import (PredictionWriter, build_inference_pipeline, init_student,
                               iter_inputs, load_weights, predict)

from .conftest import NYU_MINI, REPO, SHARED, run_tool
from .seg_utils import ADE_MINI

DEMO = 'configs/depth/mbv2_cls_teacher_inv_demo.py'
RGB_ONLY = osp.join(SHARED, 'data', 'raw', 'nyu_rgb_only')
REDWOOD = osp.join(SHARED, 'data', 'raw', 'open3d_rgbd', 'redwood', 'color')


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    """A real image, a folder with a subfolder of real images, a 3-frame video of real
    frames (Redwood sequence)."""
    root = tmp_path_factory.mktemp('inputs')
    folder = root / 'folder'
    (folder / 'sub').mkdir(parents=True)
    shutil.copy(osp.join(RGB_ONLY, 'nyu_11.png'), folder / 'a.png')
    shutil.copy(osp.join(RGB_ONLY, 'classroom__rgb_00283.jpg'), folder / 'sub' / 'b.jpg')
    frames = [cv2.imread(osp.join(REDWOOD, f)) for f in sorted(os.listdir(REDWOOD))[:3]]
    assert len(frames) == 3
    h, w = frames[0].shape[:2]
    video = cv2.VideoWriter(str(root / 'clip.mp4'), cv2.VideoWriter_fourcc(*'mp4v'), 5, (w, h))
    for f in frames:
        video.write(f)
    video.release()
    return dict(image=osp.join(RGB_ONLY, 'nyu_1.png'), folder=str(folder),
                video=str(root / 'clip.mp4'))


@pytest.fixture(scope='module')
def depth_out(demo_run, inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp('infer_depth')
    proc = run_tool('infer.py', DEMO, osp.join(demo_run, 'epoch_40.pth'), inputs['image'],
                    inputs['folder'], inputs['video'], '--out', str(out), '--device', 'cpu',
                    check=True)
    return out, proc.stdout


def check_depth_files(base, hw):
    png = cv2.imread(f'{base}_depth.png', cv2.IMREAD_UNCHANGED)
    npy = np.load(f'{base}_depth.npy')
    assert png.dtype == np.uint16 and png.shape == hw
    assert npy.dtype == np.float32 and npy.shape == hw
    assert 0.05 < npy.min() and npy.max() <= 10.0  # metres, max_depth 10
    assert np.array_equal(png, np.rint(npy.astype(np.float64) * 1000).astype(np.uint16))
    return npy


def test_depth_files_for_image_and_folder(depth_out):
    out, stdout = depth_out
    npy = check_depth_files(str(out / 'nyu_1'), (480, 640))
    assert 0.3 < np.median(npy) < 8.0
    check_depth_files(str(out / 'a'), (480, 640))
    check_depth_files(str(out / 'sub' / 'b'), (480, 640))  # folder layout kept
    preview = cv2.imread(str(out / 'nyu_1_preview.png'))
    assert preview.shape == (330, 640, 3)  # input | prediction with a colour bar
    assert '6/6' in stdout  # progress over 3 images + 3 video frames


def test_depth_files_for_video(depth_out, inputs):
    out, _ = depth_out
    for i in range(3):
        check_depth_files(str(out / 'clip' / f'frame_{i:06d}'), (480, 640))
    cap = cv2.VideoCapture(str(out / 'clip_preview.mp4'))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (330, 640, 3)
        n += 1
    assert n == 3


def test_exported_student_predicts_the_same(demo_run, depth_out, tmp_path):
    """The distiller checkpoint and the exported student give the same depth."""
    exported = str(tmp_path / 'student.pth')
    run_tool('model_converters/export_student.py', osp.join(demo_run, 'epoch_40.pth'),
             exported, check=True)
    model = init_student(osp.join(REPO, DEMO), exported, 'cpu')
    assert type(model).__name__ == 'DepthEstimator'  # the student alone, no teacher
    image = cv2.imread(osp.join(RGB_ONLY, 'nyu_1.png'))
    depth = predict(model, build_inference_pipeline(model.cfg), image)
    got = depth.pred_depth_map.data[0].numpy()
    want = np.load(str(depth_out[0] / 'nyu_1_depth.npy'))
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_load_weights_into_student_and_distiller(demo_run):
    from mmengine.registry import MODELS, init_default_scope
    ckpt = osp.join(demo_run, 'epoch_40.pth')
    sd = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    key = 'decode_head.conv_seg.weight'
    key = key if f'student.{key}' in sd else next(
        k[len('student.'):] for k in sd if k.startswith('student.decode_head'))
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(REPO, 'configs/depth/mbv2_baseline.py'))
    student = MODELS.build(cfg.model)
    counts = load_weights(student, ckpt)
    assert counts['missing'] == 0 and counts['loaded'] == len(student.state_dict())
    assert torch.equal(student.state_dict()[key], sd[f'student.{key}'])
    seg = MODELS.build(Config.fromfile(osp.join(
        REPO, 'configs/seg/deeplabv3_r50_baseline.py')).model.backbone)
    with pytest.raises(KeyError, match='no key of .* matches the ResNetV1c'):
        load_weights(seg, ckpt)


def test_inference_pipeline_drops_ground_truth_loading():
    cfg = Config.fromfile(osp.join(REPO, DEMO))
    types = [t['type'] for t in cfg.test_dataloader.dataset.pipeline]
    assert 'LoadDepthAnnotation' in types
    pipeline = build_inference_pipeline(cfg)
    got = [type(t).__name__ for t in pipeline.transforms]
    assert got == ['LoadImageFromNDArray', 'Resize', 'PackSegInputs']


def test_segmentation_label_and_overlay(tmp_path):
    """Segmentation: label PNG (class indices) and MMSeg's overlay, at the image size."""
    from mmengine.registry import MODELS, init_default_scope
    from mmkd_invproj.apis.inference import student_config
    cfg = Config.fromfile(osp.join(REPO, 'configs/seg/deeplabv3_r50_cls_teacher_inv_demo.py'))
    init_default_scope('mmseg')
    torch.manual_seed(0)
    ckpt = tmp_path / 'student.pth'
    torch.save(dict(state_dict=MODELS.build(student_config(cfg)).state_dict()), ckpt)
    model = init_student(cfg, str(ckpt), 'cpu')
    assert len(model.dataset_meta['classes']) == 150
    image = cv2.imread(osp.join(ADE_MINI, 'images', 'validation', 'ADE_val_00000003.jpg'))
    sample = predict(model, build_inference_pipeline(model.cfg), image)
    files = PredictionWriter(str(tmp_path / 'out'), model.dataset_meta).write(
        sample, image, 'ADE_val_00000003')
    assert [osp.basename(f) for f in files] == ['ADE_val_00000003_label.png',
                                                'ADE_val_00000003_overlay.png']
    label = cv2.imread(files[0], cv2.IMREAD_UNCHANGED)
    assert label.dtype == np.uint8 and label.shape == image.shape[:2] and label.max() < 150
    assert np.array_equal(label, sample.pred_sem_seg.data[0].numpy())
    overlay = cv2.imread(files[1])
    assert overlay.shape == image.shape
    assert np.abs(overlay.astype(int) - image).mean() > 10  # classes drawn over it


def test_inputs_expand_and_fail_clearly(inputs, tmp_path):
    items = iter_inputs([inputs['folder'], inputs['image']])
    assert [n for _, n in items] == ['a', 'sub/b', 'nyu_1']
    both = tmp_path / 'both'
    both.mkdir()
    shutil.copy(osp.join(NYU_MINI, 'images', 'test', 'redwood_0004.jpg'), both / 'x.jpg')
    shutil.copy(osp.join(NYU_MINI, 'annotations', 'test', 'redwood_0004.png'), both / 'x.png')
    assert [n for _, n in iter_inputs([str(both)])] == ['x_jpg', 'x_png']
    with pytest.raises(FileNotFoundError, match='does not exist'):
        iter_inputs([str(tmp_path / 'nope.jpg')])
    (tmp_path / 'notes.txt').write_text('x')
    with pytest.raises(ValueError, match='not an image'):
        iter_inputs([str(tmp_path / 'notes.txt')])

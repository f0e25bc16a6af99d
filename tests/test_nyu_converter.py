import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from .conftest import NYU_MINI, REPO

spec = importlib.util.spec_from_file_location(
    'nyu_converter', osp.join(REPO, 'tools/dataset_converters/nyu.py'))
nyu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nyu)


def write_fake_official_files(tmp_path, n=3, h=6, w=8):
    """Files with the official layout: MATLAB v7.3 stores arrays transposed."""
    import h5py
    from scipy.io import savemat
    rng = np.random.default_rng(0)
    # smooth colour ramps (JPEG keeps them close); channels differ so a swap shows
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([np.stack([20 * xx + 10 * i, 30 * yy, np.full_like(xx, 200 - 40 * i)], -1)
                    for i in range(n)]).astype(np.uint8)
    depth = rng.uniform(0.5, 9.5, size=(n, h, w))
    depth[0, 0, 0] = 0.0
    depth[1, 1, 1] = np.nan
    mat = str(tmp_path / 'labeled.mat')
    with h5py.File(mat, 'w') as f:
        f['images'] = rgb.transpose(0, 3, 2, 1)   # (N, 3, W, H)
        f['depths'] = depth.transpose(0, 2, 1)    # (N, W, H)
    splits = str(tmp_path / 'splits.mat')
    savemat(splits, {'trainNdxs': np.array([[1], [3]]), 'testNdxs': np.array([[2]])})
    return mat, splits, rgb, depth


def test_depth_to_png16_millimetres_and_invalid():
    got = nyu.depth_to_png16(np.array([[1.2344, 0.0], [np.nan, 70.0]]))
    assert got.dtype == np.uint16
    assert got.tolist() == [[1234, 0], [0, 0]]


def test_convert_writes_mmseg_layout(tmp_path):
    mat, splits, rgb, depth = write_fake_official_files(tmp_path)
    out = tmp_path / 'nyu'
    counts = nyu.convert(mat, splits, str(out))
    assert counts == {'train': 2, 'test': 1}
    d = cv2.imread(str(out / 'annotations/test/nyu_00002.png'), cv2.IMREAD_UNCHANGED)
    assert d.dtype == np.uint16 and d.shape == (6, 8)
    expected = np.rint(np.nan_to_num(depth[1], nan=0.0) * 1000).astype(np.uint16)
    assert np.array_equal(d, expected)
    img = cv2.imread(str(out / 'images/train/nyu_00001.jpg'))[:, :, ::-1]
    assert img.shape == (6, 8, 3)
    assert np.abs(img.astype(int) - rgb[0].astype(int)).mean() < 8  # JPEG, same orientation, RGB order
    assert osp.isfile(out / 'images/train/nyu_00003.jpg')


def test_missing_inputs_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        nyu.convert(str(tmp_path / 'nope.mat'), str(tmp_path / 's.mat'), str(tmp_path))


def test_labeled_raw_depths(tmp_path):
    """--depth-key rawDepths (the BTS/AdaBins test ground truth) reads the sensor depth."""
    import h5py
    mat, splits, rgb, depth = write_fake_official_files(tmp_path)
    raw = depth * 0.5
    with h5py.File(mat, 'a') as f:
        f['rawDepths'] = raw.transpose(0, 2, 1)
    out = tmp_path / 'nyu'
    nyu.main(['labeled', mat, splits, str(out), '--depth-key', 'rawDepths'])
    d = cv2.imread(str(out / 'annotations/train/nyu_00003.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(d, np.rint(raw[2] * 1000).astype(np.uint16))


def test_older_command_line_means_labeled(tmp_path):
    mat, splits, _, _ = write_fake_official_files(tmp_path)
    nyu.main([mat, splits, str(tmp_path / 'nyu')])
    assert sorted(os.listdir(tmp_path / 'nyu' / 'images' / 'train')) == ['nyu_00001.jpg',
                                                                         'nyu_00003.jpg']


# ---------------------------------------------------------------------- BTS split
#: real nyu_mini frames laid out as BTS's sync/ (training) and official_splits/test/
BTS_TRAIN = {'living_room_0019': ['redwood_0000', 'redwood_0001', 'redwood_0002', 'redwood_0003'],
             'bedroom_0060': ['sunrgbd_0000'], 'kitchen_0028b': ['tum_0000']}
BTS_TEST = {'bookstore': ['nyu_bookstore_0001d_00001'], 'basement': ['nyu_raw_0000'],
            'living_room': ['redwood_0004']}


def bts_layout(root, split, scenes, leading_slash):
    """Copy real frames to <root>/<scene>/rgb_NNNNN.jpg + sync_depth_NNNNN.png and write
    the BTS list for them (``rgb depth focal``). Returns (list path, {name: source})."""
    lines, sources = [], {}
    k = 45
    for scene, frames in scenes.items():
        (root / scene).mkdir(parents=True, exist_ok=True)
        for frame in frames:
            rgb, depth = f'{scene}/rgb_{k:05d}.jpg', f'{scene}/sync_depth_{k:05d}.png'
            shutil.copy(osp.join(NYU_MINI, 'images', split, frame + '.jpg'), root / rgb)
            shutil.copy(osp.join(NYU_MINI, 'annotations', split, frame + '.png'), root / depth)
            slash = '/' if leading_slash else ''
            lines.append(f'{slash}{rgb} {slash}{depth} 518.8579')
            sources[f'{scene}_{k:05d}'] = frame
            k += 1
    list_path = root.parent / f'nyudepthv2_{split}_files_with_gt.txt'
    list_path.write_text('\n'.join(lines) + '\n')
    return str(list_path), sources


@pytest.fixture
def bts_files(tmp_path, shared_dir):
    train_list, train = bts_layout(tmp_path / 'bts' / 'sync', 'train', BTS_TRAIN, True)
    test_list, test = bts_layout(tmp_path / 'bts' / 'official_splits' / 'test', 'test',
                                 BTS_TEST, False)
    return dict(train_dir=str(tmp_path / 'bts' / 'sync'), train_list=train_list,
                test_dir=str(tmp_path / 'bts' / 'official_splits' / 'test'),
                test_list=test_list, sources=dict(train=train, test=test))


def test_bts_list_format(tmp_path):
    lst = tmp_path / 'l.txt'
    lst.write_text('/kitchen_0028b/rgb_00045.jpg /kitchen_0028b/sync_depth_00045.png 518.8579\n'
                   '\nbathroom/rgb_00045.jpg bathroom/sync_depth_00045.png 518.8579 extra\n')
    assert nyu.read_file_list(str(lst)) == [
        ('kitchen_0028b/rgb_00045.jpg', 'kitchen_0028b/sync_depth_00045.png', 518.8579),
        ('bathroom/rgb_00045.jpg', 'bathroom/sync_depth_00045.png', 518.8579)]
    assert nyu.bts_frame_name('kitchen_0028b/rgb_00045.jpg') == 'kitchen_0028b_00045'
    lst.write_text('/a/rgb_00001.jpg None 518.8579\n')
    with pytest.raises(ValueError, match='l.txt:1: frame /a/rgb_00001.jpg has no depth'):
        nyu.read_file_list(str(lst))
    lst.write_text('/a/rgb_00001.jpg\n')
    with pytest.raises(ValueError, match='l.txt:1: expected "rgb_path depth_path focal"'):
        nyu.read_file_list(str(lst))


@pytest.mark.parametrize('link', ['symlink', 'copy'])
def test_bts_split_converts_to_the_mmseg_layout(bts_files, tmp_path, link):
    """Real frames in BTS's layout -> MMSeg's NYUDataset reads them: names, scene
    categories and the depth in metres of the source PNGs."""
    from mmengine.registry import init_default_scope
    from mmseg.datasets import NYUDataset
    out = tmp_path / f'nyu_{link}'
    proc = subprocess.run(
        [sys.executable, 'tools/dataset_converters/nyu.py', 'bts', str(out), '--train-dir',
         bts_files['train_dir'], '--train-list', bts_files['train_list'], '--test-dir',
         bts_files['test_dir'], '--test-list', bts_files['test_list'], '--link', link],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': REPO})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "{'train': {'frames': 6, 'missing': 0}, 'test': {'frames': 3, 'missing': 0}}" \
        in proc.stdout
    init_default_scope('mmseg')
    for split, sources in bts_files['sources'].items():
        ds = NYUDataset(data_root=str(out), data_prefix=dict(
            img_path=f'images/{split}', depth_map_path=f'annotations/{split}'),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3)])
        infos = [ds.get_data_info(i) for i in range(len(ds))]
        assert sorted(osp.splitext(osp.basename(d['img_path']))[0] for d in infos) \
            == sorted(sources)
        classes = NYUDataset.METAINFO['classes']
        for i, info in enumerate(infos):
            name = osp.splitext(osp.basename(info['img_path']))[0]
            scene_type = name.rsplit('_', 2 if split == 'train' else 1)[0]
            assert info['category_id'] == classes.index(scene_type), (name, info['category_id'])
            sample = ds[i]
            src_mm = cv2.imread(osp.join(NYU_MINI, 'annotations', split, sources[name] + '.png'),
                                cv2.IMREAD_UNCHANGED)
            np.testing.assert_allclose(sample['gt_depth_map'], src_mm / 1000.0, rtol=1e-6)
            assert sample['img'].shape[:2] == src_mm.shape
            assert osp.islink(info['img_path']) == (link == 'symlink')


def test_bts_missing_frames_and_wrong_folder(bts_files, tmp_path):
    with pytest.raises(FileNotFoundError, match='3 of the 3 frames .* are not under'):
        nyu.convert_bts(str(tmp_path / 'o'), test_dir=bts_files['train_dir'],
                        test_list=bts_files['test_list'])
    os.remove(osp.join(bts_files['train_dir'], 'bedroom_0060', 'rgb_00049.jpg'))
    with pytest.raises(FileNotFoundError, match=r"1 of the 6 frames .*bedroom_0060/rgb_00049"):
        nyu.convert_bts(str(tmp_path / 'o'), bts_files['train_dir'], bts_files['train_list'])
    counts = nyu.convert_bts(str(tmp_path / 'o'), bts_files['train_dir'],
                             bts_files['train_list'], skip_missing=True)
    assert counts == {'train': {'frames': 5, 'missing': 1}}
    with pytest.raises(ValueError, match='incomplete'):
        nyu.convert_bts(str(tmp_path / 'o'), train_dir=bts_files['train_dir'])


def test_bts_rejects_8bit_depth(bts_files, tmp_path):
    first = osp.join(bts_files['test_dir'], 'bookstore', 'sync_depth_00045.png')
    cv2.imwrite(first, np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match='expected a single-channel 16-bit depth PNG'):
        nyu.convert_bts(str(tmp_path / 'o'), test_dir=bts_files['test_dir'],
                        test_list=bts_files['test_list'])

import importlib.util
import os.path as osp

import cv2
import numpy as np
import pytest

from .conftest import REPO

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

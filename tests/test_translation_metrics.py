"""PSNR against a hand computation, the Frechet distance against two independent
computations, FID's weights file handling and its pipeline on real images."""
import math
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from mmkd_invproj.translation import FIDMetric, PSNRMetric, frechet_distance, psnr
from mmkd_invproj.translation.fid import FID_WEIGHTS_FILE, fid_weights_path


def test_psnr_hand_computed():
    pred = np.array([[10, 20], [30, 40]], dtype=np.uint8)
    target = np.array([[12, 20], [30, 34]], dtype=np.uint8)
    # MSE = (4 + 0 + 0 + 36) / 4 = 10 -> 10 log10(65025 / 10) = 38.1308 dB
    assert psnr(pred, target) == pytest.approx(38.130804, abs=1e-6)
    assert psnr(target, target) == math.inf
    with pytest.raises(ValueError, match='shapes differ'):
        psnr(pred, target[:1])


def test_psnr_metric_is_the_mean_of_per_image_values():
    a = torch.zeros(3, 2, 2, dtype=torch.uint8)
    b = torch.full((3, 2, 2), 5, dtype=torch.uint8)   # MSE 25 -> 34.1514 dB
    c = torch.full((3, 2, 2), 50, dtype=torch.uint8)  # MSE 2500 -> 14.1514 dB
    metric = PSNRMetric()
    metric.process({}, [dict(pred_img=b, gt_img=a), dict(pred_img=c, gt_img=a)])
    got = metric.compute_metrics(metric.results)['PSNR']
    assert got == pytest.approx((10 * math.log10(65025 / 25) + 10 * math.log10(65025 / 2500)) / 2)
    with pytest.raises(KeyError, match='gt_img'):
        metric.process({}, [dict(pred_img=b)])


def axis_design(mu, s):
    """Points mu +- s_i e_i (i < len(s)): sample mean mu, sample covariance diagonal with
    2 s_i^2 / (n - 1), n = 2 len(s) points (0 on the other axes)."""
    d, k = len(mu), len(s)
    pts = np.zeros((2 * k, d))
    pts[np.arange(k), np.arange(k)] = s
    pts[k + np.arange(k), np.arange(k)] = -np.asarray(s)
    var = np.zeros(d)
    var[:k] = 2 * np.asarray(s) ** 2 / (2 * k - 1)
    return pts + mu, var


@pytest.mark.parametrize('method', ['auto', 'gram', 'covariance'])
def test_frechet_distance_closed_form_for_diagonal_covariances(method):
    # 6 points in 3 dimensions (covariance regime) and in 10 (fewer images than dimensions)
    for d in (3, 10):
        mu1, mu2 = np.linspace(0, 1, d), np.linspace(1, -1, d)
        x1, c1 = axis_design(mu1, [1.0, 2.0, 0.5])
        x2, c2 = axis_design(mu2, [3.0, 0.5, 0.5])
        expected = np.sum((mu1 - mu2) ** 2) + np.sum(c1 + c2 - 2 * np.sqrt(c1 * c2))
        assert frechet_distance(x1, x2, method) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_agrees_with_pytorch_fid_sqrtm():
    """The independent computation: pytorch-fid's scipy.linalg.sqrtm implementation."""
    from pytorch_fid.fid_score import calculate_frechet_distance
    rng = np.random.default_rng(0)
    x1 = rng.normal(size=(40, 5)) @ rng.normal(size=(5, 5))
    x2 = rng.normal(size=(30, 5)) @ rng.normal(size=(5, 5)) + 0.3
    expected = calculate_frechet_distance(x1.mean(0), np.cov(x1, rowvar=False),
                                          x2.mean(0), np.cov(x2, rowvar=False))
    for method in ('auto', 'gram', 'covariance'):
        assert frechet_distance(x1, x2, method) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(x1, x1) == pytest.approx(0.0, abs=1e-8)
    with pytest.raises(ValueError, match='at least 2'):
        frechet_distance(x1[:1], x2)
    with pytest.raises(ValueError, match='method'):
        frechet_distance(x1, x2, 'sqrtm')


def test_missing_fid_weights_name_both_places(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    cached = osp.join(str(tmp_path / 'torch_home'), 'hub', 'checkpoints', FID_WEIGHTS_FILE)
    with pytest.raises(FileNotFoundError) as err:
        fid_weights_path(str(tmp_path / 'nowhere.pth'))
    assert str(tmp_path / 'nowhere.pth') in str(err.value) and cached in str(err.value)
    with pytest.raises(FileNotFoundError, match='nothing is downloaded'):
        fid_weights_path(None)
    with pytest.raises(FileNotFoundError, match='pt_inception-2015-12-05'):
        FIDMetric().process({}, [dict(pred_img=torch.zeros(3, 8, 8, dtype=torch.uint8),
                                      gt_img=torch.zeros(3, 8, 8, dtype=torch.uint8))])


def random_fid_weights(path):
    """A weights file with the keys and shapes of pytorch-fid's FID Inception (random
    values): the architecture of ``pytorch_fid.inception.fid_inception_v3``."""
    from pytorch_fid import inception as fi
    net = fi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = fi.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = fi.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = fi.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = fi.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = fi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = fi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = fi.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = fi.FIDInceptionE_1(1280)
    net.Mixed_7c = fi.FIDInceptionE_2(2048)
    torch.save(net.state_dict(), path)


def test_fid_metric_loads_a_local_weights_file_and_scores_real_images(tmp_path, shared_dir):
    torch.manual_seed(0)
    weights = str(tmp_path / FID_WEIGHTS_FILE)
    random_fid_weights(weights)
    folder = osp.join(shared_dir, 'data', 'nyu_mini', 'images', 'train')
    images = [torch.from_numpy(np.asarray(Image.open(osp.join(folder, f'{n}.jpg')).convert('RGB')
                                          .resize((64, 64))).copy()).permute(2, 0, 1)
              for n in ('sunrgbd_0000', 'tum_0000', 'redwood_0000', 'redwood_0002')]
    metric = FIDMetric(weights_path=weights, device='cpu')
    same = [dict(pred_img=im, gt_img=im) for im in images]
    metric.process({}, same[:2])
    metric.process({}, same[2:])
    assert metric.compute_metrics(metric.results)['FID'] == pytest.approx(0.0, abs=1e-6)
    metric.results.clear()
    flipped = [torch.flip(im, [2]) for im in images]  # mirrored: other features
    metric.process({}, [dict(pred_img=f, gt_img=im) for f, im in zip(flipped, images)])
    fid = metric.compute_metrics(metric.results)['FID']
    assert fid == pytest.approx(frechet_distance(metric.features(flipped),
                                                 metric.features(images)), rel=1e-9)
    assert fid > 0

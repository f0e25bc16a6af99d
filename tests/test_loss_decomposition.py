"""Supplementary eq. 16-18: knowledge transfer + student regularisation
(mmkd_invproj.analysis.decomposition), against NumPy."""
import re

import numpy as np
import pytest
import torch

from mmkd_invproj.analysis import decomposition as ld
from mmkd_invproj.losses.fitnets import FitNetsLoss
from mmkd_invproj.losses.spectral import SpectralLoss, features_to_rows

from .conftest import DEPTH_DEMO as DEMO
from .conftest import run_tool



def features(b=60, d_t=24, d_s=16, r_p=3, seed=0):
    """Z_t (b, d_t) full rank, P (d_t, d_s) of rank r_p, Z_s (b, d_s) full rank."""
    rng = np.random.default_rng(seed)
    z_t = rng.standard_normal((b, d_t))
    p = rng.standard_normal((d_t, r_p)) @ rng.standard_normal((r_p, d_s))
    z_s = rng.standard_normal((b, d_s)) * np.linspace(3.0, 0.2, d_s)  # decaying spectrum
    return z_t, p, z_s


def numpy_terms(pred, target, r):
    """Eq. 18's two terms, written out from NumPy's SVD of the target."""
    u, s, vt = np.linalg.svd(target, full_matrices=False)
    head = sum(s[i] * np.outer(u[:, i], vt[i]) for i in range(r)) if r else 0 * target
    tail = sum(s[i] * np.outer(u[:, i], vt[i]) for i in range(r, len(s)))
    k = pred - head
    return dict(full_sq=np.sum((pred - target) ** 2), transfer_sq=np.sum(k ** 2),
                regularisation_sq=np.sum(s[r:] ** 2), tail=tail,
                cross=-2.0 * np.sum(k * tail))


def test_low_rank_part_is_truncated_svd():
    _, _, z_s = features()
    u, s, vt = np.linalg.svd(z_s, full_matrices=False)
    expected = (u[:, :4] * s[:4]) @ vt[:4]
    got = ld.low_rank_part(torch.from_numpy(z_s), 4).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)
    np.testing.assert_allclose(np.linalg.matrix_rank(got), 4)
    np.testing.assert_allclose(ld.low_rank_part(torch.from_numpy(z_s), 16).numpy(), z_s)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_terms_match_numpy_and_sum_with_cross_term(seed):
    z_t, p, z_s = features(seed=seed)
    pred = z_t @ p
    out = ld.decompose_distill_loss(torch.from_numpy(pred), torch.from_numpy(z_s))
    assert out['rank'] == 3  # r-bar_t = rank(Z_t P) = rank(P) here (eq. 11)
    ref = numpy_terms(pred, z_s, 3)
    for key in ('full_sq', 'transfer_sq', 'regularisation_sq', 'cross'):
        assert out[key] == pytest.approx(ref[key], rel=1e-10), key
    # the regularisation term is the tail residual itself: ||R||_F^2
    assert out['regularisation_sq'] == pytest.approx(np.sum(ref['tail'] ** 2), rel=1e-10)
    # full = transfer + regularisation + cross, and the residual is the cross term
    assert out['residual'] == pytest.approx(out['cross'], rel=1e-8, abs=1e-9)
    assert out['full_sq'] == pytest.approx(
        out['transfer_sq'] + out['regularisation_sq'] + out['cross'], rel=1e-12)
    assert out['identity_error'] < 1e-10
    # eq. 18's inequality on the (unsquared) norms
    assert out['transfer'] + out['regularisation'] == pytest.approx(
        out['full'] + out['bound_slack'])
    assert out['bound_slack'] >= 0.0


def test_terms_add_up_exactly_when_pred_is_in_the_student_top_subspace():
    _, _, z_s = features()
    u, s, vt = np.linalg.svd(z_s, full_matrices=False)
    rng = np.random.default_rng(5)
    # Z_t P = U_r M V_r^T: rank 3, inside span of the student's top-3 singular vectors
    pred = u[:, :3] @ rng.standard_normal((3, 3)) @ vt[:3]
    out = ld.decompose_distill_loss(torch.from_numpy(pred), torch.from_numpy(z_s))
    assert out['rank'] == 3
    assert out['full_sq'] == pytest.approx(out['transfer_sq'] + out['regularisation_sq'],
                                           rel=1e-12)
    assert abs(out['residual']) < 1e-9 * out['full_sq']
    assert out['regularisation_sq'] == pytest.approx(np.sum(s[3:] ** 2), rel=1e-12)


def test_terms_do_not_add_up_outside_the_top_subspace():
    _, _, z_s = features()
    u, s, vt = np.linalg.svd(z_s, full_matrices=False)
    pred = 2.0 * s[-1] * np.outer(u[:, -1], vt[-1])  # rank 1, along the *last* direction
    out = ld.decompose_distill_loss(torch.from_numpy(pred), torch.from_numpy(z_s))
    assert out['rank'] == 1
    # cross = -2 <pred, R> = -2 * 2 sigma_min * sigma_min
    assert out['cross'] == pytest.approx(-4.0 * s[-1] ** 2, rel=1e-10)
    assert out['residual'] == pytest.approx(out['cross'], rel=1e-8)


def test_regularisation_equals_the_spectral_loss():
    z_t, p, z_s = features(seed=3)
    out = ld.decompose_distill_loss(torch.from_numpy(z_t @ p), torch.from_numpy(z_s))
    spectral = SpectralLoss(rank=out['rank'])(torch.from_numpy(z_s))
    assert out['regularisation'] == pytest.approx(float(spectral), rel=1e-9)


def test_fixed_rank_zero_and_threshold():
    z_t, p, z_s = features(seed=4)
    pred = z_t @ p
    out = ld.decompose_distill_loss(torch.from_numpy(pred), torch.from_numpy(z_s), rank=0)
    assert out['rank'] == 0
    assert out['transfer_sq'] == pytest.approx(np.sum(pred ** 2), rel=1e-12)
    assert out['regularisation_sq'] == pytest.approx(np.sum(z_s ** 2), rel=1e-12)
    assert out['cross'] == pytest.approx(-2.0 * np.sum(pred * z_s), rel=1e-10)
    # singular values 1, 0.5, 0.001: rank 2 at tolerance 0.01, 3 at 1e-4
    q1, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((20, 3)))
    q2, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((8, 3)))
    pred = torch.from_numpy(q1 @ np.diag([1.0, 0.5, 1e-3]) @ q2.T)
    target = torch.from_numpy(z_s[:20, :8])
    assert ld.decompose_distill_loss(pred, target)['rank'] == 2
    assert ld.decompose_distill_loss(pred, target, threshold=1e-4)['rank'] == 3


def test_bad_shapes():
    with pytest.raises(ValueError, match=r'one shape, got \(4, 3\) and \(4, 2\)'):
        ld.decompose_distill_loss(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r'expects a \(b, d\) matrix, got shape \(2, 3, 4\)'):
        ld.low_rank_part(torch.zeros(2, 3, 4), 1)


def test_loss_scale_is_that_of_fitnets():
    pred, target = torch.randn(2, 5, 3, 4), torch.randn(2, 5, 3, 4)
    scale = ld.loss_scale(FitNetsLoss(loss_weight=2.5), features_to_rows(pred))
    assert scale == 2.5 / pred.numel()
    sq = float(((pred - target) ** 2).sum())
    assert float(FitNetsLoss(loss_weight=2.5)(pred, target)) == pytest.approx(scale * sq,
                                                                             rel=1e-6)
    assert ld.loss_scale(SpectralLoss(), pred) is None


def test_a_real_batch_matches_the_logged_loss(tmp_path, shared_dir):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmkd_invproj.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(DEMO).model)
    ckpt = str(tmp_path / 'distiller.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    loaded, batch = ld.load_distiller_batch(DEMO, ckpt, 'train')
    assert not loaded.training
    for (name, p), q in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(p, q), name  # loaded strictly, every tensor
    results = ld.decompose_batch(loaded, batch)
    assert [r['name'] for r in results] == ['enc']
    res = results[0]
    assert res['projector'] == 'InvertedProjector' and res['side'] == 'teacher'
    assert (res['rows'], res['channels']) == (2 * 7 * 9, 160)  # 224 x 288 crops, stride 32
    assert res['scale'] == pytest.approx(1.0 / (res['rows'] * res['channels']))
    # the decomposed full loss is the loss the distiller logs
    assert res['logged'] == pytest.approx(res['scale'] * res['full_sq'], rel=1e-5)
    assert res['full_sq'] == pytest.approx(
        res['transfer_sq'] + res['regularisation_sq'] + res['cross'], rel=1e-9)
    assert 1 <= res['rank'] <= 160 and res['rank_P'] <= 160
    text = ld.format_result(res)
    assert 'knowledge transfer ||K||^2' in text
    assert 'student regularisation ||R||^2' in text
    assert f'{res["logged"]:.6g}' in text
    # the command line prints the same lines for the same batch
    proc = run_tool('analysis/loss_decomposition.py', DEMO, ckpt, '--split', 'train')
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout.splitlines()
    assert out[0] == f'{ckpt}: train batch 0 (2 images)'
    # same lines, same numbers to float32 precision (the script may run on another
    # thread count, which changes the round-off terms, ~1e-15 and ~1e-8 here)
    printed = out[1:1 + len(text.splitlines())]
    number = re.compile(r'-?\d+(?:\.\d+)?(?:e[-+]?\d+)?')
    for got, want in zip(printed, text.splitlines(), strict=True):
        assert number.sub('#', got) == number.sub('#', want), (got, want)
        np.testing.assert_allclose([float(x) for x in number.findall(got)],
                                   [float(x) for x in number.findall(want)],
                                   rtol=1e-4, atol=1e-6, err_msg=got)


def test_format_names_the_teacher_tail_for_a_traditional_projector():
    base = ld.decompose_distill_loss(torch.randn(30, 6, dtype=torch.float64),
                                     torch.randn(30, 6, dtype=torch.float64), rank=2)
    res = dict(base, name='enc', loss='FitNetsLoss', logged=1.0, projector='TraditionalProjector',
               side='student', scale=0.5, rows=30, channels=6, rank_P=6)
    text = ld.format_result(res)
    assert 'teacher tail (constant) ||R||^2' in text
    assert 'student regularisation ||R||^2' not in text
    assert f'{0.5 * base["transfer_sq"]:.6g}' in text
    free = ld.format_result(dict(name='spectral', loss='SpectralLoss', logged=2.0,
                                 projector=None))
    assert free == ('pair "spectral": no projector / teacher-free (SpectralLoss), '
                    'loss_distill_spectral = 2; nothing to decompose')

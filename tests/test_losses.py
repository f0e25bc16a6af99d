import numpy as np
import pytest
import torch

from mmkd_invproj.losses import FitNetsLoss, ScaleInvariantLogLoss, scale_invariant_log_loss


def silog_numpy(pred, target, lam=0.85, scale=10.0):
    """Reference: AdaBins form written directly from the formula, float64."""
    p, t = pred.astype(np.float64).ravel(), target.astype(np.float64).ravel()
    valid = np.isfinite(t) & (t > 0)
    g = np.log(p[valid]) - np.log(t[valid])
    return scale * np.sqrt(np.var(g) + (1 - lam) * np.mean(g) ** 2)


def test_silog_matches_closed_form():
    rng = np.random.default_rng(0)
    pred = rng.uniform(0.5, 8, size=(3, 1, 7, 9)).astype(np.float32)
    target = rng.uniform(0.5, 8, size=(3, 1, 7, 9)).astype(np.float32)
    target[0, 0, :2] = 0.0
    target[1, 0, 3, 3] = np.nan
    target[2, 0, 0, 0] = -1.0
    got = ScaleInvariantLogLoss()(torch.from_numpy(pred), torch.from_numpy(target))
    assert got.shape == ()
    assert got.item() == pytest.approx(silog_numpy(pred, target), rel=1e-5)


def test_silog_equals_10_sqrt_meang2_minus_lambda_meang_sq():
    # g = log(2) everywhere: Var(g) = 0, loss = 10 * sqrt(0.15) * log 2
    pred = torch.full((2, 1, 4, 4), 2.0)
    target = torch.ones(2, 1, 4, 4)
    expected = 10 * np.sqrt(0.15) * np.log(2.0)
    assert scale_invariant_log_loss(pred, target).item() == pytest.approx(expected, rel=1e-6)


def test_silog_image_without_valid_pixels_contributes_nothing():
    rng = np.random.default_rng(1)
    pred = torch.from_numpy(rng.uniform(1, 5, size=(2, 1, 6, 6)).astype(np.float32))
    target = torch.from_numpy(rng.uniform(1, 5, size=(2, 1, 6, 6)).astype(np.float32))
    target[1] = 0.0  # second image entirely invalid
    pred_garbage = pred.clone()
    pred_garbage[1] = 1e3
    both = scale_invariant_log_loss(pred_garbage, target)
    first_only = scale_invariant_log_loss(pred[:1], target[:1])
    assert both.item() == pytest.approx(first_only.item(), rel=1e-6)


def test_silog_all_invalid_is_zero_with_zero_grad():
    pred = torch.rand(2, 1, 5, 5, requires_grad=True)
    target = torch.zeros(2, 1, 5, 5)
    target[0, 0, 0, 0] = float('inf')
    loss = scale_invariant_log_loss(pred, target)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(pred.grad, torch.zeros_like(pred))


def test_silog_perfect_prediction_has_finite_gradient():
    target = torch.rand(2, 1, 5, 5) + 0.5
    pred = target.clone().requires_grad_(True)
    loss = scale_invariant_log_loss(pred, target)
    loss.backward()
    assert loss.item() < 1e-4
    assert torch.isfinite(pred.grad).all()


def test_silog_gradient_matches_finite_difference():
    torch.manual_seed(0)
    pred = (torch.rand(1, 1, 3, 3, dtype=torch.float64) + 0.5).requires_grad_(True)
    target = torch.rand(1, 1, 3, 3, dtype=torch.float64) + 0.5
    assert torch.autograd.gradcheck(lambda p: scale_invariant_log_loss(p, target), (pred,))


def test_silog_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r'\(1, 1, 4, 4\).*\(1, 1, 8, 8\)'):
        scale_invariant_log_loss(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 8, 8))


def test_silog_half_precision_computed_in_float32():
    pred = torch.rand(1, 1, 8, 8) + 0.5
    target = torch.rand(1, 1, 8, 8) + 0.5
    ref = scale_invariant_log_loss(pred, target)
    got = scale_invariant_log_loss(pred.bfloat16(), target.bfloat16())
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(ref.item(), rel=2e-2)


def test_fitnets_is_weighted_mse():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    b = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    got = FitNetsLoss(loss_weight=2.5)(torch.from_numpy(a), torch.from_numpy(b))
    assert got.item() == pytest.approx(2.5 * np.mean((a.astype(np.float64) - b) ** 2), rel=1e-6)


def test_fitnets_shape_mismatch():
    with pytest.raises(ValueError, match=r'pred \(1, 2\) and target \(1, 3\)'):
        FitNetsLoss()(torch.ones(1, 2), torch.ones(1, 3))

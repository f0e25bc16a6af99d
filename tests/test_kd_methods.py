"""AT, PKT and the projector ensemble, checked against independent float64 NumPy references."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmkd_invproj.losses.at import ATLoss, attention_map
from mmkd_invproj.losses.pkt import PKTLoss, pkt_loss
from mmkd_invproj.projectors.base import BaseProjector
from mmkd_invproj.projectors.ensemble import EnsembleProjector
from mmkd_invproj.projectors.inverted import InvertedProjector
from mmkd_invproj.registry import MODELS

from .conftest import REPO


# ----------------------------------------------------------------- references (NumPy)
def at_map_np(f, p=2):
    """Zagoruyko & Komodakis: L2-normalised, flattened channel mean of |F|^p."""
    f = np.asarray(f, dtype=np.float64)
    v = (np.abs(f) ** p).mean(axis=1).reshape(f.shape[0], -1)
    norm = np.sqrt((v ** 2).sum(axis=1, keepdims=True))
    return v / np.maximum(norm, 1e-12)


def at_loss_np(x, y, p=2):
    """The authors' (at(x) - at(y)).pow(2).mean(): mean over batch and positions."""
    return ((at_map_np(x, p) - at_map_np(y, p)) ** 2).mean()


def pkt_probs_np(rows, eps=1e-7):
    rows = np.asarray(rows, dtype=np.float64)
    n = rows.shape[0]
    out = np.empty((n, n))
    unit = [r / (np.sqrt((r ** 2).sum()) + eps) for r in rows]
    for i in range(n):
        k = np.array([(float(unit[i] @ unit[j]) + 1.0) / 2.0 for j in range(n)])
        out[i] = k / k.sum()
    return out


def pkt_np(pred_rows, target_rows, eps=1e-7, reduction='batchmean'):
    """KL(target || pred) of the cosine-kernel distributions, reference-code eps."""
    s, t = pkt_probs_np(pred_rows, eps), pkt_probs_np(target_rows, eps)
    terms = t * np.log((t + eps) / (s + eps))
    return terms.sum(axis=1).mean() if reduction == 'batchmean' else terms.mean()


def pooled_np(f):
    return np.asarray(f, dtype=np.float64).mean(axis=(2, 3))


def pixels_np(f):
    f = np.asarray(f, dtype=np.float64)
    return f.transpose(0, 2, 3, 1).reshape(-1, f.shape[1])


def finite_diff(fn, x, h=1e-6):
    """Central differences of scalar fn at float64 array x."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + h
        up = fn(x)
        x[idx] = old - h
        down = fn(x)
        x[idx] = old
        grad[idx] = (up - down) / (2 * h)
    return grad


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------------------- AT
def test_at_closed_form():
    # maps [1, 0] and [0, 1]: loss = ((1 - 0)^2 + (0 - 1)^2) / 2 = 1
    pred = torch.tensor([[[[1.0, 0.0]]]])
    target = torch.tensor([[[[0.0, 3.0]]]])
    assert ATLoss()(pred, target).item() == pytest.approx(1.0)
    assert ATLoss()(pred, 7 * pred).item() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize('p', [2, 1, 3])
def test_at_value_matches_numpy(p):
    x, y = randn(3, 5, 6, 7, seed=1), randn(3, 9, 6, 7, seed=2)  # channels differ
    got = ATLoss(p=p)(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))
    assert got.dtype == torch.float32 and got.shape == ()
    assert got.item() == pytest.approx(at_loss_np(x, y, p), rel=1e-5)
    amap = attention_map(torch.tensor(x), p=p)
    assert amap.shape == (3, 42)
    np.testing.assert_allclose(amap.numpy(), at_map_np(x, p), rtol=1e-10, atol=1e-14)


def test_at_gradient_matches_finite_differences():
    x, y = randn(2, 3, 4, 5, seed=3), randn(2, 6, 4, 5, seed=4)
    xt = torch.tensor(x, requires_grad=True)  # float64 stays float64
    yt = torch.tensor(y, requires_grad=True)
    ATLoss()(xt, yt).backward()
    np.testing.assert_allclose(xt.grad.numpy(), finite_diff(lambda a: at_loss_np(a, y), x),
                               rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(yt.grad.numpy(), finite_diff(lambda b: at_loss_np(x, b), y),
                               rtol=1e-5, atol=1e-9)


def test_at_all_zero_maps_are_finite():
    zeros = torch.zeros(2, 4, 5, 5, requires_grad=True)
    other = torch.tensor(randn(2, 3, 5, 5, seed=5), dtype=torch.float32, requires_grad=True)
    loss = ATLoss()(zeros, other)
    loss.backward()
    # a(zeros) = 0, a(other) has unit rows: loss = B * 1 / (B * H * W)
    assert loss.item() == pytest.approx(1 / 25, rel=1e-5)
    assert torch.isfinite(zeros.grad).all() and torch.isfinite(other.grad).all()
    z1, z2 = torch.zeros(1, 2, 3, 3, requires_grad=True), torch.zeros(1, 2, 3, 3,
                                                                   requires_grad=True)
    loss = ATLoss()(z1, z2)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(z1.grad).all() and torch.isfinite(z2.grad).all()


def test_at_bfloat16_computed_in_float32():
    x = torch.tensor(randn(2, 4, 6, 6, seed=6), dtype=torch.float32)
    y = torch.tensor(randn(2, 8, 6, 6, seed=7), dtype=torch.float32)
    got = ATLoss()(x.bfloat16(), y.bfloat16())
    assert got.dtype == torch.float32
    # exactly the float32 computation on the rounded values ...
    ref_rounded = at_loss_np(x.bfloat16().float().numpy(), y.bfloat16().float().numpy())
    assert got.item() == pytest.approx(ref_rounded, rel=1e-5)
    # ... and close to the unrounded float32 result
    assert got.item() == pytest.approx(ATLoss()(x, y).item(), rel=3e-2)
    half = ATLoss()(x.half(), y.half())
    assert half.dtype == torch.float32
    assert half.item() == pytest.approx(ATLoss()(x, y).item(), rel=1e-2)


@pytest.mark.parametrize('pred_shape,target_shape', [
    ((2, 3, 4, 4), (3, 3, 4, 4)),     # batch
    ((2, 3, 4, 4), (2, 3, 4, 5)),     # width
    ((2, 3, 4, 4), (2, 3, 5, 4)),     # height
    ((2, 3, 16), (2, 3, 16)),         # not 4-D
])
def test_at_shape_errors_name_both_shapes(pred_shape, target_shape):
    with pytest.raises(ValueError) as err:
        ATLoss()(torch.zeros(pred_shape), torch.zeros(target_shape))
    assert str(tuple(pred_shape)) in str(err.value)
    assert str(tuple(target_shape)) in str(err.value)


def test_at_invalid_p():
    with pytest.raises(ValueError):
        ATLoss(p=0)


# ---------------------------------------------------------------------------- PKT
def test_pkt_closed_form():
    # target rows orthogonal: K = [[1, .5], [.5, 1]] -> t = [[2/3, 1/3], [1/3, 2/3]];
    # pred rows parallel: s = 1/2 everywhere; KL per row = 2/3 ln(4/3) + 1/3 ln(2/3)
    target = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    pred = torch.tensor([[1.0, 1.0, 0.0], [2.0, 2.0, 0.0]])
    expected = 2 / 3 * np.log(4 / 3) + 1 / 3 * np.log(2 / 3)
    assert PKTLoss()(pred, target).item() == pytest.approx(expected, rel=1e-5)
    assert PKTLoss()(target, 3 * target).item() == pytest.approx(0.0, abs=1e-6)


def test_pkt_rows_value_matches_numpy_and_direction():
    p, t = randn(6, 5, seed=10), randn(6, 11, seed=11)
    pt, tt = torch.tensor(p, dtype=torch.float32), torch.tensor(t, dtype=torch.float32)
    got = PKTLoss()(pt, tt)
    assert got.shape == () and got.dtype == torch.float32
    assert got.item() == pytest.approx(pkt_np(p, t), rel=1e-5)
    # KL(target || pred) differs from KL(pred || target); the option swaps roles
    assert abs(pkt_np(p, t) - pkt_np(t, p)) > 1e-3
    assert PKTLoss(target_is_reference=False)(pt, tt).item() == pytest.approx(pkt_np(t, p),
                                                                              rel=1e-5)
    # the reference code's mean over N x N terms is batchmean / N
    assert PKTLoss(reduction='mean')(pt, tt).item() == pytest.approx(
        pkt_np(p, t, reduction='mean'), rel=1e-5)
    assert pkt_np(p, t, reduction='mean') == pytest.approx(pkt_np(p, t) / 6)


def test_pkt_pooled_matches_numpy():
    x, y = randn(5, 4, 3, 6, seed=12), randn(5, 7, 2, 2, seed=13)  # only B must match
    got = PKTLoss(pool=True)(torch.tensor(x, dtype=torch.float32),
                             torch.tensor(y, dtype=torch.float32))
    assert got.item() == pytest.approx(pkt_np(pooled_np(x), pooled_np(y)), rel=1e-5)


def test_pkt_per_pixel_matches_numpy():
    x, y = randn(2, 4, 3, 5, seed=14), randn(2, 6, 3, 5, seed=15)
    got = PKTLoss(pool=False)(torch.tensor(x, dtype=torch.float32),
                              torch.tensor(y, dtype=torch.float32))
    assert got.item() == pytest.approx(pkt_np(pixels_np(x), pixels_np(y)), rel=1e-5)
    fn = pkt_loss(torch.tensor(x), torch.tensor(y), pool=False, reduction='mean')
    assert fn.item() == pytest.approx(pkt_np(pixels_np(x), pixels_np(y), reduction='mean'),
                                      rel=1e-10)


def test_pkt_gradient_matches_finite_differences():
    x, y = randn(4, 3, 2, 2, seed=16), randn(4, 5, 2, 2, seed=17)
    xt, yt = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    PKTLoss(pool=False)(xt, yt).backward()
    np.testing.assert_allclose(
        xt.grad.numpy(), finite_diff(lambda a: pkt_np(pixels_np(a), pixels_np(y)), x),
        rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(
        yt.grad.numpy(), finite_diff(lambda b: pkt_np(pixels_np(x), pixels_np(b)), y),
        rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize('pool', [True, False])
def test_pkt_all_zero_rows_are_finite(pool):
    zeros = torch.zeros(3, 4, 2, 2, requires_grad=True)
    y = randn(3, 6, 2, 2, seed=18)
    other = torch.tensor(y, dtype=torch.float32, requires_grad=True)
    loss = PKTLoss(pool=pool)(zeros, other)
    loss.backward()
    rows = pooled_np if pool else pixels_np
    assert loss.item() == pytest.approx(pkt_np(rows(np.zeros((3, 4, 2, 2))), rows(y)), rel=1e-5)
    assert torch.isfinite(zeros.grad).all() and torch.isfinite(other.grad).all()
    # a single zero row among non-zero ones, 2-D input
    r = torch.tensor(randn(5, 3, seed=19), dtype=torch.float32)
    r[2] = 0
    r.requires_grad_(True)
    q = torch.tensor(randn(5, 4, seed=20), dtype=torch.float32, requires_grad=True)
    loss = PKTLoss()(r, q)
    loss.backward()
    assert loss.item() == pytest.approx(pkt_np(r.detach().numpy(), q.detach().numpy()),
                                        rel=1e-5)
    assert torch.isfinite(r.grad).all() and torch.isfinite(q.grad).all()


def test_pkt_bfloat16_computed_in_float32():
    x = torch.tensor(randn(6, 4, 3, 3, seed=21), dtype=torch.float32)
    y = torch.tensor(randn(6, 5, 3, 3, seed=22), dtype=torch.float32)
    for pool in (True, False):
        got = PKTLoss(pool=pool)(x.bfloat16(), y.bfloat16())
        assert got.dtype == torch.float32
        rows = pooled_np if pool else pixels_np
        ref = pkt_np(rows(x.bfloat16().float().numpy()), rows(y.bfloat16().float().numpy()))
        assert got.item() == pytest.approx(ref, rel=1e-4)
        assert got.item() == pytest.approx(PKTLoss(pool=pool)(x, y).item(), rel=5e-2)


@pytest.mark.parametrize('pool,pred_shape,target_shape', [
    (True, (2, 3, 4, 4), (3, 3, 4, 4)),     # batch
    (False, (2, 3, 4, 4), (2, 3, 4, 5)),    # per-pixel rows need the same grid
    (True, (2, 3, 4, 4), (2, 3)),           # ranks differ
    (True, (2, 3, 4), (2, 3, 4)),           # 3-D
    (True, (4, 3), (5, 3)),                 # rows differ
])
def test_pkt_shape_errors_name_both_shapes(pool, pred_shape, target_shape):
    for loss in (PKTLoss(pool=pool), PKTLoss(pool=pool, target_is_reference=False)):
        with pytest.raises(ValueError) as err:
            loss(torch.zeros(pred_shape), torch.zeros(target_shape))
        msg = str(err.value)
        assert f'pred {tuple(pred_shape)}' in msg and f'target {tuple(target_shape)}' in msg


def test_pkt_pooled_allows_different_grids_and_invalid_reduction():
    PKTLoss(pool=True)(torch.randn(3, 2, 4, 4), torch.randn(3, 5, 2, 8))
    with pytest.raises(ValueError):
        PKTLoss(reduction='sum')


# -------------------------------------------------------------------- loss_weight
@pytest.mark.parametrize('loss_cls,kwargs', [(ATLoss, {}), (PKTLoss, {}),
                                             (PKTLoss, dict(pool=False))])
def test_loss_weight_scales_linearly(loss_cls, kwargs):
    x, y = torch.randn(3, 4, 5, 5), torch.randn(3, 6, 5, 5)
    base = loss_cls(**kwargs)(x, y)
    assert base.item() > 0
    for w in (0.0, 2.5, 1000.0):
        assert loss_cls(loss_weight=w, **kwargs)(x, y).item() == pytest.approx(
            w * base.item(), rel=1e-6, abs=1e-12)


def test_losses_build_from_registry():
    at = MODELS.build(dict(type='ATLoss', loss_weight=3.0, p=2))
    pkt = MODELS.build(dict(type='PKTLoss', pool=False))
    assert isinstance(at, ATLoss) and at.loss_weight == 3.0
    assert isinstance(pkt, PKTLoss) and pkt.pool is False


# ----------------------------------------------------------------------- ensemble
def conv_np(weight, x):
    """1x1 conv without bias: weight (O, I, 1, 1), x (B, I, H, W) -> (B, O, H, W)."""
    return np.einsum('oi,bihw->bohw', weight[:, :, 0, 0].astype(np.float64),
                     x.astype(np.float64))


def test_inverted_ensemble_is_mean_of_members():
    torch.manual_seed(0)
    ens = EnsembleProjector(dict(type='InvertedProjector'), num_projectors=3,
                            in_channels=12, out_channels=4)
    assert ens.projected_side == 'teacher' and ens.is_built and len(ens.members) == 3
    assert all(isinstance(m, InvertedProjector) for m in ens.members)
    weights = [m.proj.weight.detach().numpy() for m in ens.members]
    assert weights[0].shape == (4, 12, 1, 1)
    assert not np.allclose(weights[0], weights[1]) and not np.allclose(weights[1], weights[2])
    s, t = torch.randn(2, 4, 6, 8), torch.randn(2, 12, 6, 8)
    pred, target = ens(s, t)
    assert pred.shape == target.shape == (2, 4, 6, 8)
    assert target is s
    ref = np.mean([conv_np(w, t.numpy()) for w in weights], axis=0)
    np.testing.assert_allclose(pred.detach().numpy(), ref, rtol=1e-5, atol=1e-5)
    # the effective linear map is the mean matrix
    np.testing.assert_allclose(ens.weight_matrix.detach().numpy(),
                               np.mean([w[:, :, 0, 0] for w in weights], axis=0), rtol=1e-6)
    assert ens.member_weight_matrices.shape == (3, 4, 12)
    # each member's own output, averaged by hand
    by_hand = sum(m(s, t)[0] for m in ens.members) / 3
    assert torch.allclose(pred, by_hand, atol=1e-6)


def test_inverted_ensemble_resizes_teacher_to_student_grid():
    torch.manual_seed(1)
    ens = EnsembleProjector(num_projectors=2, in_channels=8, out_channels=3)
    s, t = torch.randn(1, 3, 8, 10), torch.randn(1, 8, 4, 5)
    pred, target = ens(s, t)
    assert pred.shape == (1, 3, 8, 10) and target is s
    projected = np.mean([conv_np(m.proj.weight.detach().numpy(), t.numpy())
                         for m in ens.members], axis=0)
    ref = F.interpolate(torch.tensor(projected), size=(8, 10), mode='bilinear',
                        align_corners=False)
    np.testing.assert_allclose(pred.detach().numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)


def test_traditional_ensemble_sits_on_student_side():
    torch.manual_seed(2)
    ens = EnsembleProjector(dict(type='TraditionalProjector'), num_projectors=4,
                            in_channels=5, out_channels=16)
    assert ens.projected_side == 'student'
    assert ens.channels_for(5, 16) == (5, 16)
    s, t = torch.randn(2, 5, 3, 3), torch.randn(2, 16, 3, 3)
    pred, target = ens(s, t)
    assert pred.shape == target.shape == (2, 16, 3, 3) and target is t
    ref = np.mean([conv_np(m.proj.weight.detach().numpy(), s.numpy()) for m in ens.members],
                  axis=0)
    np.testing.assert_allclose(pred.detach().numpy(), ref, rtol=1e-5, atol=1e-5)
    assert ens.weight_matrix.shape == (16, 5)


@pytest.mark.parametrize('member', ['InvertedProjector', 'TraditionalProjector'])
@pytest.mark.parametrize('resize_to', ['student', 'teacher'])
@pytest.mark.parametrize('sizes', [((8, 10), (4, 5)), ((4, 5), (8, 10)), ((6, 6), (6, 6))])
def test_ensemble_forward_is_mean_of_member_forwards(member, resize_to, sizes):
    """The ensemble's (BaseProjector) forward, P = mean of the members applied once
    and resized once, equals averaging each member's own (pred, target), in values
    and in every gradient (float64; resizing is linear, so the two orders agree)."""
    torch.manual_seed(3)
    (hs, ws), (ht, wt) = sizes
    c_s, c_t = 5, 7
    ens = EnsembleProjector(dict(type=member), num_projectors=3, bias=True,
                            resize_to=resize_to, resize_mode='bilinear')
    ens.build(*ens.channels_for(c_s, c_t))
    ens.double()
    s = torch.randn(2, c_s, hs, ws, dtype=torch.float64, requires_grad=True)
    t = torch.randn(2, c_t, ht, wt, dtype=torch.float64, requires_grad=True)

    def loss_and_grads(fn):
        ens.zero_grad()
        s.grad = t.grad = None
        pred, target = fn()
        code = torch.arange(pred.numel(), dtype=pred.dtype).reshape(pred.shape).sin()
        ((pred * code).sum() + (target ** 2).sum()).backward()
        return pred.detach(), target.detach(), [s.grad, t.grad] + [
            p.grad.clone() for p in ens.parameters()]

    def by_members():
        outs = [m(s, t) for m in ens.members]
        return torch.stack([p for p, _ in outs]).mean(dim=0), outs[0][1]

    pred, target, grads = loss_and_grads(lambda: ens(s, t))
    ref_pred, ref_target, ref_grads = loss_and_grads(by_members)
    grid = (hs, ws) if resize_to == 'student' else (ht, wt)
    assert pred.shape[-2:] == target.shape[-2:] == grid
    torch.testing.assert_close(pred, ref_pred, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(target, ref_target, rtol=0, atol=0)
    for g, ref in zip(grads, ref_grads):
        torch.testing.assert_close(g, ref, rtol=1e-12, atol=1e-12)


def test_ensemble_lazy_build_and_channels_for():
    ens = EnsembleProjector(num_projectors=2)
    assert not ens.is_built and ens.in_channels is None
    assert ens.channels_for(160, 1280) == (1280, 160)
    with pytest.raises(RuntimeError):
        ens.weight_matrix
    ens.build(*ens.channels_for(6, 10))
    assert ens.is_built and (ens.in_channels, ens.out_channels) == (10, 6)
    assert all(m.is_built and m.weight_matrix.shape == (6, 10) for m in ens.members)
    pred, target = ens(torch.randn(1, 6, 2, 2), torch.randn(1, 10, 2, 2))
    assert pred.shape == target.shape == (1, 6, 2, 2)


def test_ensemble_members_all_get_gradients():
    ens = EnsembleProjector(num_projectors=3, in_channels=6, out_channels=2)
    s = torch.randn(2, 2, 3, 3, requires_grad=True)
    pred, target = ens(s, torch.randn(2, 6, 3, 3))
    ATLoss()(pred, target).backward()
    assert s.grad is not None
    for m in ens.members:
        assert m.proj.weight.grad is not None and m.proj.weight.grad.abs().sum() > 0
    # every member is a registered parameter of the ensemble
    assert len(list(ens.parameters())) == 3


def test_ensemble_passes_base_kwargs_and_validates():
    ens = EnsembleProjector(dict(type='InvertedProjector'), num_projectors=2, bias=True,
                            resize_to='teacher', resize_mode='area')
    assert ens.resize_to == 'teacher' and ens.resize_mode == 'area' and ens.bias
    assert all(m.bias and m.resize_to == 'teacher' and m.resize_mode == 'area'
               for m in ens.members)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError):
            EnsembleProjector(num_projectors=bad)
    with pytest.raises(ValueError):
        EnsembleProjector(dict(type='InvertedProjector', bias=False), bias=True)
    with pytest.raises(ValueError):
        EnsembleProjector(resize_to='nowhere')
    with pytest.raises(TypeError):
        EnsembleProjector(num_members=3)
    with pytest.raises(TypeError):
        EnsembleProjector(dict(type='ATLoss'))


def test_ensemble_builds_from_registry():
    ens = MODELS.build(dict(type='EnsembleProjector',
                            projector=dict(type='TraditionalProjector'), num_projectors=2,
                            in_channels=3, out_channels=7))
    assert isinstance(ens, BaseProjector) and ens.weight_matrix.shape == (7, 3)
    assert len(ens.members) == 2


@pytest.mark.parametrize('member,in_ch,out_ch', [('InvertedProjector', 1280, 160),
                                                 ('TraditionalProjector', 160, 1280)])
def test_distiller_infers_ensemble_channels(member, in_ch, out_ch):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    student = Config.fromfile(osp.join(REPO, 'configs/_base_/models/mbv2_depth.py')).model
    with DefaultScope.overwrite_default_scope('mmseg'):  # as a config's default_scope
        model = build_ensemble_distiller(student, member)
    ens = model.pairs.projectors['enc']
    assert (ens.in_channels, ens.out_channels) == (in_ch, out_ch)
    assert all(m.proj.weight.shape == (out_ch, in_ch, 1, 1) for m in ens.members)


def build_ensemble_distiller(student, member):
    return MODELS.build(dict(
        type='CrossTaskDistiller',
        student=copy.deepcopy(student),
        teacher=dict(type='TorchvisionTeacher', model_name='mobilenet_v2'),
        distill_pairs=[dict(name='enc', student='backbone', student_index=-1,
                            teacher='features.18',
                            projector=dict(type='EnsembleProjector',
                                           projector=dict(type=member), num_projectors=2),
                            loss=dict(type='PKTLoss'))],
        infer_input_size=(64, 64)))

"""SpectralLoss (teacher-free spectral regulariser) against float64 NumPy SVDs."""
import numpy as np
import pytest
import torch

from mmkd_invproj.losses.spectral import SpectralLoss, features_to_rows, spectral_residual
from mmkd_invproj.registry import MODELS


def ref_loss(z, rank, norm):
    """|| Z - Z_r || from NumPy's float64 SVD."""
    s = np.linalg.svd(np.asarray(z, dtype=np.float64), compute_uv=False)
    tail = s[rank:]
    return float(np.sqrt((tail ** 2).sum())) if norm == 'fro' else float(tail.sum())


def ref_grad(z, rank, norm):
    """Closed-form gradient: (Z - Z_r) / L for fro, U_tail V_tail^T for nuclear."""
    z = np.asarray(z, dtype=np.float64)
    u, s, vt = np.linalg.svd(z, full_matrices=False)
    if norm == 'fro':
        z_r = (u[:, :rank] * s[:rank]) @ vt[:rank]
        return (z - z_r) / np.linalg.norm(z - z_r)
    return u[:, rank:] @ vt[rank:]


def loss_and_grad(z, **kwargs):
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    loss = SpectralLoss(**kwargs)(zt)
    loss.backward()
    return loss, zt.grad


def random_input(seed=0, n=50, d=8):
    return np.random.default_rng(seed).standard_normal((n, d))


def low_rank_input(seed=1, n=60, d=10, inner=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, inner)) @ rng.standard_normal((inner, d))


def repeated_input(seed=2, n=40, scales=(3.0,) * 6):
    """Orthonormal columns scaled: singular values exactly ``scales``."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, len(scales))))
    rot, _ = np.linalg.qr(np.random.default_rng(seed + 1).standard_normal((len(scales),) * 2))
    return (q * np.asarray(scales)) @ rot


@pytest.mark.parametrize('method', ['auto', 'gram', 'svd'])
@pytest.mark.parametrize('norm', ['fro', 'nuclear'])
@pytest.mark.parametrize('case,rank', [('random', 2), ('random', 5), ('low_rank', 2),
                                       ('low_rank', 5), ('repeated', 2), ('repeated', 5)])
def test_value_matches_numpy_svd(case, rank, norm, method):
    z = dict(random=random_input, low_rank=low_rank_input, repeated=repeated_input)[case]()
    got, _ = loss_and_grad(z, rank=rank, norm=norm, method=method)
    ref = ref_loss(z, rank, norm)
    scale = np.linalg.norm(z)  # absolute tolerance relative to ||Z||_F
    assert got.dtype == torch.float64
    assert got.item() == pytest.approx(ref, rel=1e-9, abs=1e-6 * scale)
    if case == 'repeated':  # sigma = 3 (x6): tail of 6 - r equal values
        expected = 3.0 * np.sqrt(6 - rank) if norm == 'fro' else 3.0 * (6 - rank)
        assert got.item() == pytest.approx(expected, rel=1e-10)
    if case == 'low_rank' and rank == 5:  # rank 3 <= r: exactly representable
        assert abs(got.item()) < 1e-6 * scale


@pytest.mark.parametrize('dtype,rel', [(torch.float32, 1e-4), (torch.float64, 1e-10)])
@pytest.mark.parametrize('method', ['gram', 'svd'])
def test_value_float32_and_float64(dtype, rel, method):
    z = random_input(3, 300, 24)
    for norm in ('fro', 'nuclear'):
        got = SpectralLoss(rank=3, norm=norm, method=method)(torch.tensor(z, dtype=dtype))
        assert got.dtype == dtype
        assert got.item() == pytest.approx(ref_loss(z, 3, norm), rel=rel)


@pytest.mark.parametrize('method', ['gram', 'svd'])
@pytest.mark.parametrize('norm', ['fro', 'nuclear'])
def test_gradient_matches_closed_form(norm, method):
    z = random_input(4, 40, 6)  # generic: distinct singular values
    _, grad = loss_and_grad(z, rank=2, norm=norm, method=method)
    np.testing.assert_allclose(grad.numpy(), ref_grad(z, 2, norm), atol=1e-10)


@pytest.mark.parametrize('method', ['gram', 'svd'])
def test_gradcheck(method):
    z = torch.tensor(random_input(5, 12, 5), requires_grad=True)
    for norm in ('fro', 'nuclear'):
        assert torch.autograd.gradcheck(SpectralLoss(rank=2, norm=norm, method=method), (z,))


@pytest.mark.parametrize('method', ['gram', 'svd'])
def test_gradient_rank_deficient_above_gap(method):
    # rank 3, r = 2: sigma_2 > sigma_3 > 0 = sigma_4..: differentiable for fro,
    # L = sigma_3 and dL/dZ = u_3 v_3^T despite the seven vanishing singular values
    z = low_rank_input()
    _, grad = loss_and_grad(z, rank=2, norm='fro', method=method)
    u, s, vt = np.linalg.svd(z, full_matrices=False)
    np.testing.assert_allclose(grad.numpy(), np.outer(u[:, 2], vt[2]), atol=1e-8)
    np.testing.assert_allclose(grad.numpy(), ref_grad(z, 2, 'fro'), atol=1e-8)


@pytest.mark.parametrize('method', ['gram', 'svd'])
def test_gradient_repeated_values_both_sides(method):
    # sigma = (5, 5, 2, 2, 2), r = 2: repeated values on both sides of the cut but a
    # gap at it, so Z_r and the gradient are unique; backward must match them
    z = repeated_input(6, 30, (5.0, 5.0, 2.0, 2.0, 2.0))
    for norm in ('fro', 'nuclear'):
        loss, grad = loss_and_grad(z, rank=2, norm=norm, method=method)
        assert loss.item() == pytest.approx(2 * np.sqrt(3) if norm == 'fro' else 6.0, rel=1e-10)
        np.testing.assert_allclose(grad.numpy(), ref_grad(z, 2, norm), atol=1e-8)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('method', ['gram', 'svd'])
@pytest.mark.parametrize('norm', ['fro', 'nuclear'])
@pytest.mark.parametrize('case,rank', [('low_rank', 2), ('low_rank', 5), ('low_rank', 9),
                                       ('repeated', 2), ('repeated', 5), ('repeated', 6)])
def test_gradients_finite_on_degenerate_inputs(case, rank, norm, method, dtype):
    z = dict(low_rank=low_rank_input, repeated=repeated_input)[case]()
    zt = torch.tensor(z, dtype=dtype, requires_grad=True)
    loss = SpectralLoss(rank=rank, norm=norm, method=method)(zt)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(zt.grad).all()
    # the subgradient stays bounded: ||dL/dZ||_F <= 1 (fro) or sqrt(#tail) (nuclear)
    k = min(z.shape)
    bound = 1.0 if norm == 'fro' else np.sqrt(max(k - rank, 0))
    assert zt.grad.norm().item() <= bound * (1 + 1e-3)
    if rank >= 3 and case == 'low_rank':  # r >= rank(Z): loss ~ 0
        assert loss.item() < 1e-4 * np.linalg.norm(z)


def test_eigvalsh_backward_has_no_eigengap_terms():
    # all-equal eigenvalues: eigenvectors are arbitrary, yet the values' gradient is
    # V diag(g) V^T, finite and here exactly the identity
    a = (2.0 * torch.eye(5, dtype=torch.float64)).requires_grad_(True)
    torch.linalg.eigvalsh(a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.eye(5), atol=1e-12)


def test_bchw_equals_permuted_rows():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3, 4, dtype=torch.float64, requires_grad=True)
    rows = x.detach().permute(0, 2, 3, 1).reshape(-1, 5).clone().requires_grad_(True)
    assert torch.equal(features_to_rows(x), rows)
    for norm in ('fro', 'nuclear'):
        x.grad, rows.grad = None, None
        loss_fn = SpectralLoss(rank=2, norm=norm)
        l_map, l_rows = loss_fn(x), loss_fn(rows)
        l_map.backward()
        l_rows.backward()
        assert l_map.item() == pytest.approx(l_rows.item(), rel=1e-12)
        assert l_map.item() == pytest.approx(ref_loss(rows.detach().numpy(), 2, norm), rel=1e-10)
        torch.testing.assert_close(x.grad.permute(0, 2, 3, 1).reshape(-1, 5), rows.grad)


@pytest.mark.parametrize('rank', [0, 1, 3, 7])
def test_gram_equals_svdvals_path(rank):
    z = torch.tensor(random_input(7, 200, 16), requires_grad=True)
    for norm in ('fro', 'nuclear'):
        out = {}
        for method in ('gram', 'svd'):
            z.grad = None
            loss = SpectralLoss(rank=rank, norm=norm, method=method)(z)
            loss.backward()
            out[method] = (loss.item(), z.grad.clone())
        assert out['gram'][0] == pytest.approx(out['svd'][0], rel=1e-10)
        torch.testing.assert_close(out['gram'][1], out['svd'][1], rtol=1e-7, atol=1e-9)


def test_auto_picks_gram_for_tall_and_svd_for_wide(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError('wrong path')

    tall, wide = torch.randn(64, 8), torch.randn(5, 12)
    with monkeypatch.context() as m:
        m.setattr(torch.linalg, 'svdvals', forbidden)
        got = SpectralLoss(rank=2)(tall)  # N >= D: Gram path
    assert got.item() == pytest.approx(ref_loss(tall.numpy(), 2, 'fro'), rel=1e-5)
    with monkeypatch.context() as m:
        m.setattr(torch.linalg, 'eigvalsh', forbidden)
        got = SpectralLoss(rank=2, norm='nuclear')(wide)  # N < D: svdvals path
    assert got.item() == pytest.approx(ref_loss(wide.numpy(), 2, 'nuclear'), rel=1e-5)


def test_gram_float64_resolves_small_trailing_values():
    # rank 4 (sigma ~ 1e3) + 1e-3 noise: the tail is ~1e-6 of sigma_1, beyond a
    # float32 Gram matrix's resolution; the default float64 Gram gets it right
    g = torch.Generator().manual_seed(0)
    z = (torch.randn(2000, 4, generator=g) @ torch.randn(4, 32, generator=g) * 10
         + 1e-3 * torch.randn(2000, 32, generator=g))
    for norm in ('fro', 'nuclear'):
        got = SpectralLoss(rank=8, norm=norm, method='gram')(z)
        assert got.dtype == torch.float32
        assert got.item() == pytest.approx(ref_loss(z.numpy(), 8, norm), rel=1e-4)


@pytest.mark.parametrize('half', [torch.bfloat16, torch.float16])
@pytest.mark.parametrize('method', ['gram', 'svd'])
def test_half_input_gives_float32(half, method):
    torch.manual_seed(0)
    x = torch.randn(2, 8, 4, 5).to(half).requires_grad_(True)
    loss = SpectralLoss(rank=2, method=method)(x)
    assert loss.dtype == torch.float32
    ref = ref_loss(features_to_rows(x.detach()).double().numpy(), 2, 'fro')
    assert loss.item() == pytest.approx(ref, rel=1e-5)
    loss.backward()
    assert x.grad.dtype == half and torch.isfinite(x.grad.float()).all()


@pytest.mark.parametrize('method', ['auto', 'gram', 'svd'])
def test_rank_at_least_number_of_singular_values_gives_zero(method):
    z = torch.randn(30, 6, requires_grad=True)
    for rank in (6, 9):
        for norm in ('fro', 'nuclear'):
            z.grad = None
            loss = SpectralLoss(rank=rank, norm=norm, method=method)(z)
            assert loss.item() == 0.0
            loss.backward()  # still in the graph
            assert torch.equal(z.grad, torch.zeros_like(z))
    wide = torch.randn(4, 10)  # only 4 singular values
    assert SpectralLoss(rank=4, method=method)(wide).item() == 0.0
    assert SpectralLoss(rank=3, method=method)(wide).item() == pytest.approx(
        ref_loss(wide.numpy(), 3, 'fro'), rel=1e-5)


def test_rank_zero_is_the_full_norm():
    z = random_input(8, 20, 5)
    fro, _ = loss_and_grad(z, rank=0, norm='fro')
    nuc, _ = loss_and_grad(z, rank=0, norm='nuclear')
    assert fro.item() == pytest.approx(np.linalg.norm(z, 'fro'), rel=1e-12)
    assert nuc.item() == pytest.approx(np.linalg.norm(z, 'nuc'), rel=1e-12)


def test_center_normalize_and_weight():
    z = random_input(9, 80, 6) + 5.0  # a large mean direction
    n = z.shape[0]
    plain, _ = loss_and_grad(z, rank=1)
    centred, _ = loss_and_grad(z, rank=1, center=True)
    normalised, _ = loss_and_grad(z, rank=1, normalize=True)
    weighted, _ = loss_and_grad(z, rank=1, loss_weight=0.25, norm='nuclear')
    assert plain.item() == pytest.approx(ref_loss(z, 1, 'fro'), rel=1e-10)
    assert centred.item() == pytest.approx(ref_loss(z - z.mean(0), 1, 'fro'), rel=1e-10)
    assert normalised.item() == pytest.approx(ref_loss(z / np.sqrt(n), 1, 'fro'), rel=1e-10)
    assert weighted.item() == pytest.approx(0.25 * ref_loss(z, 1, 'nuclear'), rel=1e-10)


def test_registered_and_functional_form():
    loss = MODELS.build(dict(type='SpectralLoss', rank=3, norm='nuclear'))
    assert isinstance(loss, SpectralLoss) and loss.rank == 3 and loss.norm == 'nuclear'
    z = torch.tensor(random_input(10, 30, 7))
    assert spectral_residual(z, 3, 'nuclear').item() == pytest.approx(
        ref_loss(z.numpy(), 3, 'nuclear'), rel=1e-10)


@pytest.mark.parametrize('kwargs,match', [
    (dict(rank=-1), 'rank must be an integer >= 0'),
    (dict(rank=1.5), 'rank must be an integer >= 0'),
    (dict(norm='l2'), r"\('fro', 'nuclear'\)"),
    (dict(method='qr'), r"\('auto', 'gram', 'svd'\)"),
    (dict(gram_dtype='float16'), r"\('float64', 'float32'\)"),
    (dict(eps=-1.0), 'eps must be >= 0'),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SpectralLoss(**kwargs)


@pytest.mark.parametrize('shape', [(4,), (2, 3, 4), (1, 2, 3, 4, 5)])
def test_wrong_ndim(shape):
    with pytest.raises(ValueError, match=r'4-D or 2-D') as info:
        SpectralLoss()(torch.randn(*shape))
    assert str(tuple(shape)) in str(info.value)

import pytest
import torch

from mmkd_invproj.projectors import InvertedProjector, TraditionalProjector
from mmkd_invproj.utils import match_spatial_size, tokens_to_map


def test_inverted_cnn_shapes_and_linear_map():
    torch.manual_seed(0)
    proj = InvertedProjector(in_channels=32, out_channels=8)
    s, t = torch.randn(2, 8, 6, 10), torch.randn(2, 32, 6, 10)
    pred, target = proj(s, t)
    assert pred.shape == target.shape == (2, 8, 6, 10)
    assert target is s
    # P applied per pixel: pred[b, :, i, j] = W @ t[b, :, i, j]
    w = proj.weight_matrix  # (8, 32)
    ref = torch.einsum('oc,bchw->bohw', w, t)
    assert torch.allclose(pred, ref, atol=1e-5)
    assert proj.proj.bias is None


def test_traditional_cnn_shapes():
    proj = TraditionalProjector(in_channels=8, out_channels=32)
    s, t = torch.randn(2, 8, 6, 10), torch.randn(2, 32, 6, 10)
    pred, target = proj(s, t)
    assert pred.shape == target.shape == (2, 32, 6, 10)
    assert target is t


def test_mismatched_spatial_sizes_resize_teacher_to_student_grid():
    s, t = torch.randn(2, 8, 12, 16), torch.randn(2, 32, 3, 4)
    inv = InvertedProjector(32, 8)
    pred, target = inv(s, t)
    assert pred.shape == target.shape == (2, 8, 12, 16)
    # P commutes with bilinear resizing: P(resize(t)) == resize(P(t))
    ref = inv.proj(match_spatial_size(t, (12, 16)))
    assert torch.allclose(pred, ref, atol=1e-5)
    trad = TraditionalProjector(8, 32)
    pred, target = trad(s, t)
    assert pred.shape == target.shape == (2, 32, 12, 16)


def test_resize_to_teacher_grid():
    s, t = torch.randn(1, 8, 12, 16), torch.randn(1, 32, 3, 4)
    pred, target = InvertedProjector(32, 8, resize_to='teacher')(s, t)
    assert pred.shape == target.shape == (1, 8, 3, 4)
    pred, target = TraditionalProjector(8, 32, resize_to='teacher')(s, t)
    assert pred.shape == target.shape == (1, 32, 3, 4)


def test_vit_tokens_become_patch_grid_map():
    b, c = 2, 768
    tokens = torch.randn(b, 1 + 14 * 14, c)
    fmap = tokens_to_map(tokens, (224, 224), 16)
    assert fmap.shape == (b, c, 14, 14)
    # patch token k sits at row k // 14, column k % 14; the class token is dropped
    assert torch.equal(fmap[:, :, 2, 5], tokens[:, 1 + 2 * 14 + 5, :])


def test_register_tokens_are_dropped_for_non_square_input():
    tokens = torch.randn(1, 5 + 30 * 40, 4)  # 1 class + 4 register tokens, 480 x 640 input
    fmap = tokens_to_map(tokens, (480, 640), 16)
    assert fmap.shape == (1, 4, 30, 40)
    assert torch.equal(fmap[0, :, 0, 0], tokens[0, 5])
    assert torch.equal(fmap[0, :, 29, 39], tokens[0, -1])


def test_tokens_with_wrong_patch_size_raise():
    with pytest.raises(ValueError, match='patch_size=8'):
        tokens_to_map(torch.randn(1, 197, 4), (224, 224), 8)


def test_channel_mismatch_names_both_shapes():
    proj = InvertedProjector(in_channels=64, out_channels=8)
    with pytest.raises(ValueError, match=r'64 input channels.*\(1, 32, 4, 4\)'):
        proj(torch.randn(1, 8, 4, 4), torch.randn(1, 32, 4, 4))


def test_invalid_options_raise():
    with pytest.raises(ValueError, match='resize_to'):
        InvertedProjector(4, 4, resize_to='both')
    with pytest.raises(ValueError, match="valid modes"):
        InvertedProjector(4, 4, resize_mode='lanczos')


@pytest.mark.parametrize('cls,resize_to,bias', [
    (InvertedProjector, 'student', False), (InvertedProjector, 'student', True),
    (TraditionalProjector, 'teacher', False), (TraditionalProjector, 'teacher', True)])
@pytest.mark.parametrize('mode', ['bilinear', 'nearest', 'area', 'adaptive_avg_pool'])
def test_projecting_before_or_after_the_resize_gives_one_loss_and_gradient(cls, resize_to,
                                                                            bias, mode):
    """P is applied on the smaller grid (here the projected map is downsampled 4x per
    side); the reference projects first and resizes after, as a plain 1x1 conv would."""
    torch.manual_seed(0)
    big, small = (28, 36), (7, 9)
    if cls is InvertedProjector:  # the teacher map is projected and moves to the student grid
        s = torch.randn(2, 16, *small, dtype=torch.float64, requires_grad=True)
        t = torch.randn(2, 64, *big, dtype=torch.float64)
        proj = cls(64, 16, bias=bias, resize_mode=mode).double()
    else:  # the student map is projected and moves to the teacher grid
        s = torch.randn(2, 16, *big, dtype=torch.float64, requires_grad=True)
        t = torch.randn(2, 64, *small, dtype=torch.float64)
        proj = cls(16, 64, bias=bias, resize_to=resize_to, resize_mode=mode).double()
    pred, target = proj(s, t)
    loss = ((pred - target) ** 2).mean()
    grads = torch.autograd.grad(loss, [s] + list(proj.parameters()))
    source = t if cls is InvertedProjector else s
    ref_pred = match_spatial_size(proj.proj(source), small, mode)  # project, then resize
    ref_loss = ((ref_pred - target) ** 2).mean()
    ref_grads = torch.autograd.grad(ref_loss, [s] + list(proj.parameters()))
    assert pred.shape == ref_pred.shape
    assert torch.allclose(loss, ref_loss, rtol=1e-12, atol=1e-14)
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, rtol=1e-10, atol=1e-13)


def test_projector_gradients_reach_student_and_P_only():
    proj = InvertedProjector(6, 3)
    s = torch.randn(1, 3, 4, 4, requires_grad=True)
    t = torch.randn(1, 6, 2, 2)
    pred, target = proj(s, t)
    ((pred - target) ** 2).mean().backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert proj.proj.weight.grad.abs().sum() > 0

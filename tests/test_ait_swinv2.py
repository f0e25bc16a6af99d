"""AiTSwinV2: the All-in-Tokens SwinV2-B teachers of supplementary 6.3.1.

The expected checkpoint layout is spelled out here from the AiT repository
(github.com/SwinTransformer/AiT @ 3527d503, ``ait/code/model/swin_transformer_v2_rpe2fc.py``
and ``ait/configs/swinv2b_480reso_depthonly.py`` / ``swinv2b_640reso_inssegonly.py``),
independently of the module under test.
"""
import copy
import functools
import math
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config

import mmkd_invproj  # noqa: F401
from mmkd_invproj.registry import MODELS
from mmkd_invproj.teachers import AiTSwinV2, ait_swinv2_state_dict_keys, load_teacher_checkpoint
from mmkd_invproj.teachers.ait_swinv2 import _PostNormSwinBlock, shifted_window_mask

from .conftest import REPO

# backbone=dict(type='SwinV2TransformerRPE2FC', embed_dim=128, depths=[2, 2, 18, 2],
# num_heads=[4, 8, 16, 32], window_size=[30, 30, 30, 15], pretrain_window_size=[12, 12, 12, 6],
# ape=False, out_indices=(3,)) and the class defaults rpe_hidden_dim=512, mlp_ratio=4,
# qkv_bias=True, attn_type='cosine_mh', postnorm=True, patch_size=4.
AIT_SWINV2B = dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32),
                   window_size=(30, 30, 30, 15), pretrain_window_size=(12, 12, 12, 6),
                   out_indices=(3,), rpe_hidden_dim=512, mlp_ratio=4)
# a small model with the same layout, for fast forwards
SMALL_ARCH = dict(embed_dim=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 4, 8))
SMALL_CFG = dict(arch=SMALL_ARCH, window_size=(4, 4, 4, 2), pretrained_window_sizes=(3, 3, 3, 2),
                 use_shift=True)


def ait_backbone_layout(cfg):
    """Names and shapes of SwinV2TransformerRPE2FC's state dict, from AiT's module
    definitions: PatchEmbed(proj, norm), BasicLayer(blocks, downsample=PatchMerging),
    SwinTransformerBlockPost(norm1, attn, norm2, mlp), WindowAttention(logit_scale,
    rpe_mlp = Sequential(Linear(2, 512), ReLU, LinearFP32(512, heads, bias=False)),
    buffers relative_coords_table / relative_position_index, qkv (no bias), q_bias,
    v_bias, proj), Mlp(fc1, fc2), and one norm{i} per out index."""
    c0, hid, r = cfg['embed_dim'], cfg['rpe_hidden_dim'], cfg['mlp_ratio']
    keys = OrderedDict([('patch_embed.proj.weight', (c0, 3, 4, 4)),
                        ('patch_embed.proj.bias', (c0,)),
                        ('patch_embed.norm.weight', (c0,)), ('patch_embed.norm.bias', (c0,))])
    n_stages = len(cfg['depths'])
    for i, (depth, heads, ws) in enumerate(zip(cfg['depths'], cfg['num_heads'],
                                               cfg['window_size'])):
        d = c0 * 2 ** i
        for j in range(depth):
            p = f'layers.{i}.blocks.{j}.'
            keys.update([
                (p + 'norm1.weight', (d,)), (p + 'norm1.bias', (d,)),
                (p + 'attn.logit_scale', (heads, 1, 1)),
                (p + 'attn.q_bias', (d,)), (p + 'attn.v_bias', (d,)),
                (p + 'attn.relative_coords_table', (1, 2 * ws - 1, 2 * ws - 1, 2)),
                (p + 'attn.relative_position_index', (ws * ws, ws * ws)),
                (p + 'attn.rpe_mlp.0.weight', (hid, 2)), (p + 'attn.rpe_mlp.0.bias', (hid,)),
                (p + 'attn.rpe_mlp.2.weight', (heads, hid)),
                (p + 'attn.qkv.weight', (3 * d, d)),
                (p + 'attn.proj.weight', (d, d)), (p + 'attn.proj.bias', (d,)),
                (p + 'norm2.weight', (d,)), (p + 'norm2.bias', (d,)),
                (p + 'mlp.fc1.weight', (r * d, d)), (p + 'mlp.fc1.bias', (r * d,)),
                (p + 'mlp.fc2.weight', (d, r * d)), (p + 'mlp.fc2.bias', (d,))])
        if i < n_stages - 1:
            keys.update([(f'layers.{i}.downsample.reduction.weight', (2 * d, 4 * d)),
                         (f'layers.{i}.downsample.norm.weight', (2 * d,)),
                         (f'layers.{i}.downsample.norm.bias', (2 * d,))])
    for i in cfg['out_indices']:
        keys.update([(f'norm{i}.weight', (c0 * 2 ** i,)), (f'norm{i}.bias', (c0 * 2 ** i,))])
    return keys


def expected_coords_table(ws, pretrained_ws):
    """AiT 'norm8_log_bylayer': offsets / (Wp - 1) * 8, then sign * log2(|.| + 1) / log2(8)."""
    t = torch.arange(-(ws - 1), ws, dtype=torch.float64) / (pretrained_ws - 1) * 8
    f = (torch.sign(t) * torch.log2(t.abs() + 1) / math.log2(8)).float()
    n = 2 * ws - 1
    return torch.stack((f[:, None].expand(n, n), f[None, :].expand(n, n)), -1)[None]


def expected_position_index(ws):
    """Index of (query i, key j) = (dy + ws - 1) * (2 ws - 1) + (dx + ws - 1)."""
    yi, xi = torch.arange(ws * ws) // ws, torch.arange(ws * ws) % ws
    return ((yi[:, None] - yi[None, :] + ws - 1) * (2 * ws - 1)
            + (xi[:, None] - xi[None, :] + ws - 1))


def fake_ait_checkpoint(layout, windows, path):
    """An mmcv-style AiT checkpoint: ``backbone.*`` with the given layout (random weights
    as views of one shared pool, so the file stays small; the buffers hold their true
    values), plus a few task-solver / head keys as in the real file."""
    gen = torch.Generator().manual_seed(0)
    pool = torch.randn(max(math.prod(s) for s in layout.values()) + 997, generator=gen)
    buffers = {}
    state = OrderedDict()
    for n, (key, shape) in enumerate(layout.items()):
        if key.endswith(('relative_coords_table', 'relative_position_index')):
            stage = int(key.split('.')[1])
            ws, pw = windows[stage]
            if (key[-5:], ws) not in buffers:
                buffers[key[-5:], ws] = (expected_coords_table(ws, pw) if key.endswith('table')
                                         else expected_position_index(ws))
            state['backbone.' + key] = buffers[key[-5:], ws]
        else:
            offset = (n * 131) % 997
            state['backbone.' + key] = pool[offset:offset + math.prod(shape)].view(shape)
    state['transformer.voc_embed.weight'] = torch.randn(2339, 256, generator=gen)
    state['transformer.encoder.layers.0.linear1.weight'] = torch.randn(1024, 256, generator=gen)
    state['depth_head.vae.encoder.0.weight'] = torch.randn(256, 1, 4, 4, generator=gen)
    torch.save({'meta': dict(epoch=100), 'state_dict': state}, path)
    return state


AIT_WINDOWS = list(zip(AIT_SWINV2B['window_size'], AIT_SWINV2B['pretrain_window_size']))


def test_base_layout_is_the_ait_checkpoint_layout():
    expected = ait_backbone_layout(AIT_SWINV2B)
    model_keys = ait_swinv2_state_dict_keys('base')
    assert dict(model_keys) == dict(expected)
    assert len(model_keys) == 471
    n_buffer_keys = sum(k.endswith(('_table', '_index')) for k in expected)
    n_params = sum(math.prod(s) for k, s in expected.items()
                   if not k.endswith(('_table', '_index')))
    with torch.device('meta'):
        model = AiTSwinV2('base')
    assert len(list(model.parameters())) == len(expected) - n_buffer_keys
    assert sum(p.numel() for p in model.parameters()) == n_params


def test_base_loads_a_fake_ait_checkpoint_strictly_through_the_distiller(tmp_path):
    path = str(tmp_path / 'ait_depth_swinv2b_ar.pth')
    saved = fake_ait_checkpoint(ait_backbone_layout(AIT_SWINV2B), AIT_WINDOWS, path)
    student = Config.fromfile(osp.join(REPO, 'configs/_base_/models/mbv2_depth.py')).model
    distiller = MODELS.build(dict(
        type='CrossTaskDistiller', student=copy.deepcopy(student),
        teacher=dict(type='AiTSwinV2', arch='base', img_size=(480, 640)),
        teacher_ckpt=path, teacher_ckpt_prefix='backbone.', teacher_ckpt_strict=True))
    teacher = distiller.teacher
    assert isinstance(teacher, AiTSwinV2)
    loaded = teacher.state_dict()
    backbone = {k[len('backbone.'):]: v for k, v in saved.items() if k.startswith('backbone.')}
    assert loaded.keys() == backbone.keys()
    for key in ('layers.2.blocks.17.attn.qkv.weight', 'norm3.weight',
                'layers.0.blocks.1.attn.rpe_mlp.2.weight', 'patch_embed.proj.weight'):
        assert torch.equal(loaded[key], backbone[key]), key
    assert all(torch.equal(loaded[k], v) for k, v in backbone.items())
    assert teacher.layers[3].blocks[0].attn.relative_position_index.dtype == torch.int64
    assert not any(p.requires_grad for p in teacher.parameters())


def test_fresh_buffers_equal_the_ait_formulas():
    model = AiTSwinV2(SMALL_ARCH, window_size=(30, 30, 30, 15))  # default pretrained (12,..,6)
    for stage, (ws, pw) in ((0, (30, 12)), (3, (15, 6))):
        attn = model.layers[stage].blocks[1].attn
        assert torch.allclose(attn.relative_coords_table, expected_coords_table(ws, pw),
                              atol=1e-6)
        assert torch.equal(attn.relative_position_index, expected_position_index(ws))


def test_a_missing_key_fails_the_strict_load(tmp_path):
    cfg = dict(AIT_SWINV2B, **SMALL_ARCH, window_size=(4, 4, 4, 2))
    path = str(tmp_path / 'small.pth')
    fake_ait_checkpoint(ait_backbone_layout(cfg), [(4, 3)] * 3 + [(2, 2)], path)
    model = AiTSwinV2(**SMALL_CFG)
    missing, unexpected = load_teacher_checkpoint(model, path, prefix='backbone.', strict=True)
    assert missing == [] and unexpected == []
    four_norms = AiTSwinV2(**SMALL_CFG, norm_indices=(0, 1, 2, 3))
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "norm0.weight"'):
        load_teacher_checkpoint(four_norms, path, prefix='backbone.', strict=True)


def test_position_buffers_of_other_windows_are_recomputed():
    src = AiTSwinV2(**SMALL_CFG)
    dst = AiTSwinV2(**dict(SMALL_CFG, window_size=(3, 3, 3, 3)))
    own = dst.layers[0].blocks[0].attn.relative_position_index.clone()
    dst.load_state_dict(src.state_dict(), strict=True)
    assert torch.equal(dst.layers[0].blocks[0].attn.relative_position_index, own)
    assert torch.equal(dst.layers[1].blocks[1].attn.qkv.weight,
                       src.layers[1].blocks[1].attn.qkv.weight)


@pytest.mark.parametrize('hw,cfg', [((480, 640), {}), ((640, 640), {}),
                                    ((250, 330), dict(SMALL_CFG, arch=SMALL_ARCH))])
def test_forward_gives_one_map_per_stage(hw, cfg):
    # AiT's windows (30, 30, 30, 15) and depth shifts: 480 x 640 and 640 x 640 need
    # window padding (also under the shifted windows of stages 0, 1); 250 x 330 also
    # pads the patch embedding and the patch merging, all stages shifted
    model = AiTSwinV2(**dict(dict(arch=SMALL_ARCH), **cfg), img_size=hw).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *hw))
    expected = [(16 * 2 ** i, math.ceil(hw[0] / 2 ** (i + 2)), math.ceil(hw[1] / 2 ** (i + 2)))
                for i in range(4)]
    assert [tuple(o.shape[1:]) for o in outs] == expected
    assert model.out_shapes == expected
    # stage 3 passes through norm3 (weight 1, bias 0): zero mean, unit variance over C
    last = outs[3]
    assert torch.allclose(last.mean(1), torch.zeros(1, *expected[3][1:]), atol=1e-4)
    assert torch.allclose(last.var(1, unbiased=False), torch.ones(1, *expected[3][1:]),
                          atol=1e-3)
    assert all(torch.isfinite(o).all() for o in outs)


def test_block_equals_timm_swinv2_block():
    from timm.models.swin_transformer_v2 import SwinTransformerV2Block
    torch.manual_seed(0)
    x = torch.randn(2, 8, 8, 32)
    for shift in (0, 2):
        ours = _PostNormSwinBlock(32, 2, window=4, shift=shift, pretrained_window=3).eval()
        for p in ours.parameters():
            torch.nn.init.normal_(p, std=0.3)
        ref = SwinTransformerV2Block(32, (8, 8), 2, 4, shift, pretrained_window_size=3,
                                     norm_layer=functools.partial(torch.nn.LayerNorm,
                                                                  eps=1e-6)).eval()
        ref.load_state_dict({k.replace('rpe_mlp', 'cpb_mlp'): v
                             for k, v in ours.state_dict().items() if 'relative' not in k})
        assert torch.allclose(ref.attn.relative_coords_table, ours.attn.relative_coords_table)
        with torch.no_grad():
            got = ours(x.reshape(2, 64, 32), (8, 8), shifted_window_mask(8, 8, 4, 2))
            want = ref(x).reshape(2, 64, 32)
        # timm normalises q, k by max(|q|, 1e-12), AiT by |q| + 5e-5
        assert torch.allclose(got, want, atol=1e-4), (shift, (got - want).abs().max())


def test_padded_shifted_block_follows_ait_order():
    # AiT's SwinTransformerBlockPost.forward on a 5 x 6 map (window 4, shift 2): pad to
    # 8 x 8, roll, window attention (timm's SwinV2 WindowAttention as the reference op),
    # un-roll, crop, then x + LN1(.), x + LN2(mlp(.))
    from timm.models.swin_transformer_v2 import WindowAttention
    torch.manual_seed(1)
    ours = _PostNormSwinBlock(32, 2, window=4, shift=2, pretrained_window=3).eval()
    for p in ours.parameters():
        torch.nn.init.normal_(p, std=0.3)
    attn = WindowAttention(32, (4, 4), 2, pretrained_window_size=(3, 3)).eval()
    attn.load_state_dict({k[5:].replace('rpe_mlp', 'cpb_mlp'): v for k, v in
                          ours.state_dict().items() if k.startswith('attn.') and
                          'relative' not in k})
    x = torch.randn(2, 5 * 6, 32)
    y = torch.nn.functional.pad(x.view(2, 5, 6, 32), (0, 0, 0, 2, 0, 3)).roll((-2, -2), (1, 2))
    win = y.view(2, 2, 4, 2, 4, 32).permute(0, 1, 3, 2, 4, 5).reshape(8, 16, 32)
    with torch.no_grad():
        out = attn(win, mask=shifted_window_mask(5, 6, 4, 2))
        y = out.view(2, 2, 2, 4, 4, 32).permute(0, 1, 3, 2, 4, 5).reshape(2, 8, 8, 32)
        y = y.roll((2, 2), (1, 2))[:, :5, :6].reshape(2, 30, 32)
        want = x + ours.norm1(y)
        want = want + ours.norm2(ours.mlp(want))
        got = ours(x, (5, 6), shifted_window_mask(5, 6, 4, 2))
    assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()


def test_shifted_window_mask_of_a_padded_map():
    # 5 x 5 tokens, window 4, shift 2: padded to 8 x 8 (AiT pads before shifting), the
    # regions are rows/cols [0, 4), [4, 6), [6, 8); region id = 3 * row_region + col_region
    mask = shifted_window_mask(5, 5, window=4, shift=2)
    assert mask.shape == (4, 16, 16)
    assert torch.equal(mask[0], torch.zeros(16, 16))
    region = torch.tensor([0, 0, 1, 1])
    rid = (3 * region[:, None] + region[None, :]).flatten() + 4  # window (1, 1): rows/cols 4..7
    expected = torch.where(rid[:, None] == rid[None, :], 0.0, -100.0)
    assert torch.equal(mask[3], expected)


def test_hooked_stage_maps_feed_the_distiller():
    student = Config.fromfile(osp.join(REPO, 'configs/_base_/models/mbv2_depth.py')).model
    pair = dict(student='backbone', student_index=-1, projector=dict(type='InvertedProjector'),
                loss=dict(type='FitNetsLoss'))
    model = MODELS.build(dict(
        type='CrossTaskDistiller', student=copy.deepcopy(student),
        teacher=dict(type='AiTSwinV2', **SMALL_CFG),
        distill_pairs=[dict(pair, name='s3', teacher='norm3'),
                       dict(pair, name='s1', teacher='layers.1')],
        infer_input_size=(64, 96)))
    assert model.pairs.projectors['s3'].in_channels == 128
    assert model.pairs.projectors['s1'].in_channels == 32
    x = torch.randn(1, 3, 64, 96)
    feats = model.teachers['teacher'](x)
    with torch.no_grad():
        outs = model.teacher(x)
    assert torch.equal(feats['norm3'], outs[3])
    assert torch.equal(feats['layers.1'], outs[1])
    assert outs[1].shape == (1, 32, 8, 12)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match=r"unknown AiTSwinV2 arch 'huge'; valid: "
                                         r"\['base', 'large', 'small', 'tiny'\]"):
        AiTSwinV2('huge')
    with pytest.raises(ValueError, match=r'window_size must be one int or 4 of them \(one per '
                                         r'stage\), got \[30, 30, 30\]'):
        AiTSwinV2(SMALL_ARCH, window_size=(30, 30, 30))
    with pytest.raises(ValueError, match=r'out_indices must be stage numbers in 0..3, got \[4\]'):
        AiTSwinV2(SMALL_ARCH, out_indices=(4,))
    model = AiTSwinV2(**SMALL_CFG)
    with pytest.raises(ValueError, match=r'expects a \(B, 3, H, W\) image batch, got shape '
                                         r'\(1, 1, 32, 32\)'):
        model(torch.zeros(1, 1, 32, 32))

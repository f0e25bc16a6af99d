"""AiTSwinV2: the All-in-Tokens SwinV2-B teachers of supplementary 6.3.1.

The expected checkpoint layout is spelled out here from the AiT repository
(github.com/SwinTransformer/AiT @ 3527d503, ``ait/code/model/swin_transformer_v2_rpe2fc.py``
and ``ait/configs/swinv2b_480reso_depthonly.py`` / ``swinv2b_640reso_inssegonly.py``),
independently of the module under test.
"""
import copy
import math
import os.path as osp
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

import mmkd_invproj  # noqa: F401
from mmkd_invproj.registry import MODELS
from mmkd_invproj.teachers import AiTSwinV2, ait_swinv2_state_dict_keys, load_teacher_checkpoint

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


def ait_window_attention(attn, x, mask=None):
    """AiT's ``WindowAttention.forward`` (``attn_type='cosine_mh'``,
    ``rpe_output_type='sigmoid'``: ``custom_normalize(., eps=5e-5)``, logit scale clamped
    at log(1 / 0.01), bias ``16 sigmoid(rpe_mlp(coords))[index]``), written out with the
    weights and buffers of ``attn``. x: (B * nW, N, C); mask: (nW, N, N)."""
    bw, n, c = x.shape
    h = attn.num_heads
    bias = torch.cat((attn.q_bias, torch.zeros_like(attn.v_bias), attn.v_bias))
    qkv = (x @ attn.qkv.weight.t() + bias).reshape(bw, n, 3, h, c // h)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    q = q / (q.norm(dim=-1, keepdim=True) + 5e-5)
    k = k / (k.norm(dim=-1, keepdim=True) + 5e-5)
    logits = q @ k.transpose(-2, -1) * attn.logit_scale.clamp(max=math.log(1 / 0.01)).exp()
    table = attn.rpe_mlp(attn.relative_coords_table).view(-1, h)
    position_bias = table[attn.relative_position_index.view(-1)].view(n, n, h).permute(2, 0, 1)
    logits = logits + 16 * torch.sigmoid(position_bias)
    if mask is not None:
        nw = mask.shape[0]
        logits = (logits.view(bw // nw, nw, h, n, n) + mask[None, :, None]).view(bw, h, n, n)
    return attn.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(bw, n, c))


def shift_mask(hp, wp, window, shift):
    """Swin's shifted-window mask of an (hp, wp) map (AiT computes it on the padded map):
    rows and columns [0, -window), [-window, -shift), [-shift, end) cut the map into 3 x 3
    regions; in each window, -100 between tokens of different regions, else 0.
    Returns (nW, window^2, window^2)."""
    def band(size):
        b = torch.zeros(size, dtype=torch.long)
        b[size - window:] = 1
        b[size - shift:] = 2
        return b

    region = 3 * band(hp)[:, None] + band(wp)[None, :]
    region = region.view(hp // window, window, wp // window, window).permute(0, 2, 1, 3)
    region = region.reshape(-1, window * window)
    return torch.where(region[:, :, None] == region[:, None, :], 0.0, -100.0)


def randomise(module, std=0.3):
    for p in module.parameters():
        torch.nn.init.normal_(p, std=std)
    return module


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
    assert sum(p.numel() for p in model.parameters()) == n_params == 86_893_816


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


def test_official_names_load_strictly_and_state_dict_round_trips(tmp_path):
    # load_state_dict takes the AiT names as they are; state_dict() gives them back, and
    # the module tree uses the same names (no translation between hooks and weights)
    cfg = dict(AIT_SWINV2B, **SMALL_ARCH, window_size=(4, 4, 4, 2))
    saved = fake_ait_checkpoint(ait_backbone_layout(cfg), [(4, 3)] * 3 + [(2, 2)],
                                str(tmp_path / 'small.pth'))
    official = {k[len('backbone.'):]: v for k, v in saved.items() if k.startswith('backbone.')}
    model = AiTSwinV2(**SMALL_CFG)
    model.load_state_dict(official, strict=True)
    state = model.state_dict()
    assert state.keys() == official.keys()
    assert all(torch.equal(state[k], v) for k, v in official.items())
    AiTSwinV2(**SMALL_CFG).load_state_dict(state, strict=True)
    assert {name for name, _ in model.named_parameters()} <= official.keys()
    assert 'layers.0.blocks.1.attn.rpe_mlp.2' in dict(model.named_modules())


def test_window_attention_follows_the_ait_formula():
    # tiny q and k (and the largest logit scale), where AiT's |q| + 5e-5 and timm's
    # max(|q|, 1e-12) differ visibly: the module follows AiT
    from timm.models.swin_transformer_v2 import WindowAttention
    torch.manual_seed(2)
    attn = randomise(AiTSwinV2(**SMALL_CFG).layers[1].blocks[1].attn).eval()  # 32 ch, 2 heads
    with torch.no_grad():
        attn.qkv.weight[:64] *= 1e-3
        attn.q_bias.zero_()
        attn.logit_scale.fill_(math.log(100))
    timm_attn = WindowAttention(32, (4, 4), 2, pretrained_window_size=(3, 3)).eval()
    timm_attn.load_state_dict({k.replace('rpe_mlp', 'cpb_mlp'): v
                               for k, v in attn.state_dict().items() if 'relative' not in k})
    x, mask = torch.randn(8, 16, 32), shift_mask(8, 8, 4, 2)
    with torch.no_grad():
        got, want, timm_out = attn(x, mask), ait_window_attention(attn, x, mask), timm_attn(x, mask)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert (timm_out - want).abs().max() > 100 * (got - want).abs().max()


def test_padded_shifted_block_follows_ait_order():
    # AiT's SwinTransformerBlockPost.forward on a 5 x 6 map (window 4, shift 2): pad to
    # 8 x 8, roll, window attention with the padded map's mask, un-roll, crop, then
    # x + LN1(.), x + LN2(mlp(.)) with eps 1e-6 (timm's own block rolls before padding)
    torch.manual_seed(1)
    block = randomise(AiTSwinV2(**SMALL_CFG).layers[1].blocks[1]).eval()
    assert (block.window_size, block.shift_size) == ((4, 4), (2, 2))
    x = torch.randn(2, 5, 6, 32)
    y = F.pad(x, (0, 0, 0, 2, 0, 3)).roll((-2, -2), (1, 2))
    windows = y.view(2, 2, 4, 2, 4, 32).permute(0, 1, 3, 2, 4, 5).reshape(8, 16, 32)
    with torch.no_grad():
        out = ait_window_attention(block.attn, windows, shift_mask(8, 8, 4, 2))
        y = out.view(2, 2, 2, 4, 4, 32).permute(0, 1, 3, 2, 4, 5).reshape(2, 8, 8, 32)
        y = y.roll((2, 2), (1, 2))[:, :5, :6]
        want = x + F.layer_norm(y, (32,), block.norm1.weight, block.norm1.bias, 1e-6)
        mlp = F.linear(F.gelu(F.linear(want, block.mlp.fc1.weight, block.mlp.fc1.bias)),
                       block.mlp.fc2.weight, block.mlp.fc2.bias)
        want = want + F.layer_norm(mlp, (32,), block.norm2.weight, block.norm2.bias, 1e-6)
        got = block(x)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_backbone_equals_timm_swinv2_modules_stage_by_stage():
    # Reference: timm's own SwinV2 blocks and patch merging (LayerNorm eps 1e-6) loaded
    # with the backbone's weights under timm's names (cpb_mlp for rpe_mlp), chained on
    # their own outputs. Every stage map is a window multiple (no padding, where AiT's
    # pad-then-shift order is timm's), and q, k are scaled up so that the two cosine
    # epsilons (tested above) are negligible.
    from timm.models.swin_transformer_v2 import PatchMerging, SwinTransformerV2Block
    torch.manual_seed(3)
    model = randomise(AiTSwinV2(**SMALL_CFG)).eval()
    assert {m.eps for m in model.modules() if isinstance(m, torch.nn.LayerNorm)} == {1e-6}
    with torch.no_grad():
        for stage in model.layers:
            for block in stage.blocks:
                c = block.attn.qkv.in_features
                block.attn.qkv.weight[:2 * c] *= 100
                block.attn.q_bias *= 100
    state = model.state_dict()

    def timm_weights(prefix):
        return {k[len(prefix):].replace('rpe_mlp', 'cpb_mlp'): v for k, v in state.items()
                if k.startswith(prefix) and 'relative_' not in k}

    def ln(dim, **kwargs):
        return torch.nn.LayerNorm(dim, eps=1e-6, **kwargs)

    x = torch.randn(2, 3, 128, 192)  # stage maps 32 x 48 ... 4 x 6, windows (4, 4, 4, 2)
    with torch.no_grad():
        outs = model(x)
        t = F.conv2d(x, state['patch_embed.proj.weight'], state['patch_embed.proj.bias'],
                     stride=4).permute(0, 2, 3, 1)
        t = F.layer_norm(t, (16,), state['patch_embed.norm.weight'],
                         state['patch_embed.norm.bias'], 1e-6)
        for i in range(4):
            dim, window = 16 * 2 ** i, SMALL_CFG['window_size'][i]
            for j in range(2):
                block = SwinTransformerV2Block(
                    dim, tuple(t.shape[1:3]), SMALL_ARCH['num_heads'][i], window,
                    shift_size=window // 2 * j, norm_layer=ln,
                    pretrained_window_size=SMALL_CFG['pretrained_window_sizes'][i]).eval()
                block.load_state_dict(timm_weights(f'layers.{i}.blocks.{j}.'))
                t = block(t)
            ref = t if i < 3 else F.layer_norm(t, (dim,), state['norm3.weight'],
                                               state['norm3.bias'], 1e-6)
            torch.testing.assert_close(outs[i], ref.permute(0, 3, 1, 2), atol=1e-4, rtol=1e-4)
            if i < 3:
                merge = PatchMerging(dim, norm_layer=ln)
                merge.load_state_dict(timm_weights(f'layers.{i}.downsample.'))
                t = merge(t)


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

"""Pix2Pix and CycleGAN train steps against the official optimize_parameters written as a
plain PyTorch loop, the step order, prediction, the optimizer groups, AMP, and the
distillation through the shared core: where the student feature is recorded, what the
teacher sees, the config keys."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import DefaultScope

from mmkd_invproj.engine import AnyDeviceAmpOptimWrapper
from mmkd_invproj.translation import (CycleGAN, ImagePool, Pix2Pix, ResnetGenerator,
                                      TranslationOptimWrapperConstructor, UnetGenerator)
from mmkd_invproj.translation.cyclegan import DISTILL_POSITIONS
from mmkd_invproj.translation.reference import official_cyclegan_step, official_pix2pix_step


def adamw(params):
    return torch.optim.AdamW(params, lr=2e-4, betas=(0.5, 0.999), weight_decay=0.01)


def small_pix2pix(num_downs=5):
    return Pix2Pix(dict(type='UnetGenerator', num_downs=num_downs, ngf=8),
                   dict(type='NLayerDiscriminator', in_channels=6, ndf=8))


def small_cyclegan(**kwargs):
    return CycleGAN(dict(type='ResnetGenerator', ngf=8, n_blocks=2),
                    dict(type='NLayerDiscriminator', in_channels=3, ndf=8, norm='instance'),
                    **kwargs)


def batch(n=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    imgs = torch.randint(0, 256, (2, n, 3, size, size), generator=g, dtype=torch.uint8)
    return dict(inputs=dict(A=list(imgs[0]), B=list(imgs[1])), data_samples=None)


def to_net(images):
    return torch.stack(images).float() / 127.5 - 1


class RecordingWrapper(OptimWrapper):
    """An OptimWrapper that notes when it steps."""

    def __init__(self, name, log, **kwargs):
        super().__init__(**kwargs)
        self.name, self.log = name, log

    def step(self, **kwargs):
        self.log.append(self.name)
        super().step(**kwargs)


def wrappers(model, log=None):
    log = [] if log is None else log
    return OptimWrapperDict(
        generators=RecordingWrapper('generators', log,
                                    optimizer=adamw(model.generators.parameters())),
        discriminators=RecordingWrapper('discriminators', log,
                                        optimizer=adamw(model.discriminators.parameters())))


def assert_same_parameters(module, reference):
    for (name, p), q in zip(module.named_parameters(), reference.parameters()):
        assert torch.allclose(p, q, atol=1e-6, rtol=1e-5), name


def test_pix2pix_step_is_the_official_one():
    torch.manual_seed(0)
    model = small_pix2pix().train()
    G, D = copy.deepcopy(model.generators['G']), copy.deepcopy(model.discriminators['D'])
    opt_g, opt_d = adamw(G.parameters()), adamw(D.parameters())
    order = []
    optim = wrappers(model, order)
    for step in range(2):
        data = batch(seed=step)
        torch.manual_seed(10 + step)  # the same dropout masks in both
        log = model.train_step(data, optim)
        torch.manual_seed(10 + step)
        ref = official_pix2pix_step(G, D, opt_g, opt_d, to_net(data['inputs']['A']),
                                    to_net(data['inputs']['B']))
        for key, value in ref.items():
            assert float(log[key]) == pytest.approx(value.item(), rel=1e-5), key
    assert order == ['discriminators', 'generators'] * 2  # D step, then G step
    assert_same_parameters(model.generators['G'], G)
    assert_same_parameters(model.discriminators['D'], D)
    assert set(log) == {'loss_D_fake', 'loss_D_real', 'loss_D', 'loss_G_GAN', 'loss_G_L1',
                        'loss_G'}


def test_cyclegan_step_is_the_official_one():
    torch.manual_seed(0)
    model = small_cyclegan().train()
    nets = [copy.deepcopy(model.generators[k]) for k in ('G_A', 'G_B')] + \
        [copy.deepcopy(model.discriminators[k]) for k in ('D_A', 'D_B')]
    opt_g = adamw(list(nets[0].parameters()) + list(nets[1].parameters()))
    opt_d = adamw(list(nets[2].parameters()) + list(nets[3].parameters()))
    pools = ImagePool(50), ImagePool(50)
    order = []
    optim = wrappers(model, order)
    for step in range(2):
        data = batch(seed=step)
        log = model.train_step(data, optim)
        ref = official_cyclegan_step(*nets, opt_g, opt_d, to_net(data['inputs']['A']),
                                     to_net(data['inputs']['B']), *pools)
        for key, value in ref.items():
            assert float(log[key]) == pytest.approx(value.item(), rel=1e-5), key
    assert order == ['generators', 'discriminators'] * 2  # G step, then D step
    for name, ref in zip(('G_A', 'G_B'), nets[:2]):
        assert_same_parameters(model.generators[name], ref)
    for name, ref in zip(('D_A', 'D_B'), nets[2:]):
        assert_same_parameters(model.discriminators[name], ref)


@pytest.mark.parametrize('accumulate', [1, 2])
def test_update_is_update_params_with_the_gradients_freed_before_the_backward(accumulate):
    torch.manual_seed(0)
    model = small_pix2pix()
    net = nn.Linear(3, 2)
    ref = copy.deepcopy(net)
    wrapper = OptimWrapper(adamw(net.parameters()), accumulative_counts=accumulate)
    ref_wrapper = OptimWrapper(adamw(ref.parameters()), accumulative_counts=accumulate)
    for _ in range(4):
        x = torch.randn(5, 3)
        model.update('generators', wrapper, net(x).pow(2).mean())
        ref_wrapper.update_params(ref(x).pow(2).mean())
        assert torch.equal(net.weight, ref.weight) and torch.equal(net.bias, ref.bias)
    # the last update's gradients stay until the next backward (MMEngine frees them)
    assert ref.weight.grad is None and net.weight.grad is not None
    x = torch.randn(5, 3)
    net.weight.grad = net.bias.grad = None
    net(x).pow(2).mean().backward()
    fresh = net.weight.grad.clone()  # a stale gradient of this very loss now
    model.update('generators', OptimWrapper(adamw(net.parameters())), net(x).pow(2).mean())
    assert torch.equal(net.weight.grad, fresh)  # freed, not added to


def test_predict_returns_uint8_images_and_restores_the_mode():
    torch.manual_seed(0)
    data = batch(size=64)
    # num_downs=6: one level with dropout
    for model, stochastic in ((small_pix2pix(num_downs=6), True), (small_cyclegan(), False)):
        model.eval()
        out = model.val_step(data)
        assert not model.generators.training  # the Pix2Pix trick is undone afterwards
        assert len(out) == 2
        for sample in out:
            for key in ('input_img', 'pred_img', 'gt_img'):
                assert sample.get(key).dtype == torch.uint8 and sample.get(key).shape == (3, 64, 64)
        assert torch.equal(out[0].gt_img, data['inputs']['B'][0])
        again = model.val_step(data)
        # Pix2Pix predicts with dropout on (official test.py without --eval)
        assert torch.equal(out[0].pred_img, again[0].pred_img) != stochastic
    with pytest.raises(RuntimeError, match='train_step'):
        model(to_net(data['inputs']['A']), mode='loss')


def test_optimizer_groups_and_amp_defaults():
    model = small_cyclegan()
    cfg = dict(type='AnyDeviceAmpOptimWrapper', loss_scale='dynamic',
               generators=dict(optimizer=dict(type='AdamW', lr=2e-4, betas=(0.5, 0.999))),
               discriminators=dict(optimizer=dict(type='AdamW', lr=1e-4)))
    with DefaultScope.overwrite_default_scope('mmseg'):
        optim = TranslationOptimWrapperConstructor(cfg)(model)
    assert set(optim.keys()) == {'generators', 'discriminators'}
    assert all(isinstance(w, AnyDeviceAmpOptimWrapper) for w in optim.values())
    gen_params = {id(p) for g in optim['generators'].optimizer.param_groups for p in g['params']}
    assert gen_params == {id(p) for p in model.generators.parameters()}
    assert optim['discriminators'].optimizer.param_groups[0]['lr'] == 1e-4
    with pytest.raises(ValueError, match='configures'):
        TranslationOptimWrapperConstructor(dict(generators=cfg['generators']))(model)


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU bfloat16 branch')
@pytest.mark.parametrize('make', [small_pix2pix, small_cyclegan])
def test_amp_train_step_on_cpu(make):
    torch.manual_seed(0)
    model = make().train()
    before = [p.detach().clone() for p in model.parameters()]
    optim = OptimWrapperDict(
        generators=AnyDeviceAmpOptimWrapper(optimizer=adamw(model.generators.parameters())),
        discriminators=AnyDeviceAmpOptimWrapper(
            optimizer=adamw(model.discriminators.parameters())))
    log = model.train_step(batch(), optim)
    assert all(torch.isfinite(v) for v in log.values())
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


IMAGENET = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
#: a small frozen teacher given with CrossTaskDistiller's keys: the network config and
#: teacher_* options; its `layer1` is a (B, 64, H/4, W/4) map
TEACHER = dict(teacher=dict(type='TorchvisionTeacher', model_name='resnet18', weights=None),
               teacher_seed=0, teacher_norm=IMAGENET)


def fitnets_pair(student, teacher='layer1', **kwargs):
    return dict(name='enc', student=student, teacher=teacher,
                projector=dict(type='InvertedProjector'), loss=dict(type='FitNetsLoss'), **kwargs)


def translation_optim(model):
    """The configs' optimizer groups (the projectors train with the generators)."""
    opt = dict(optimizer=dict(type='AdamW', lr=2e-4, betas=(0.5, 0.999)))
    with DefaultScope.overwrite_default_scope('mmseg'):
        return TranslationOptimWrapperConstructor(dict(generators=opt, discriminators=opt))(model)


def capture_pair_outputs(model):
    """Every output of the pairs' forward, as the core computed it."""
    outputs = []
    model.pairs.register_forward_hook(lambda module, args, out: outputs.append(out))
    return outputs


def resnet_encoder(generator, x):
    """G_E(x) by hand: a ResnetGenerator's layers up to its last residual block."""
    end = int(generator.encoder_output.split('.')[1])
    return generator.model[:end + 1](x)


@pytest.mark.parametrize('position', ['cycle', 'forward'])
def test_cyclegan_distillation_feature_is_the_encoder_of_the_distilled_call(position):
    """'cycle' (supplementary 6.12): the pair's student side is G_B's encoder on G_A(x),
    not on a real image, although G_B also runs on the real B and on A (identity loss);
    'forward' (Table 10's other row): G_A's encoder on x. The teacher sees the real x,
    renormalised from [-1, 1] to its ImageNet statistics."""
    torch.manual_seed(0)
    generator = DISTILL_POSITIONS[position][0]
    model = small_cyclegan(distill_position=position, **TEACHER, infer_input_size=(32, 32),
                           distill_pairs=[fitnets_pair(f'{generator}.model.11')]).train()
    G_A, G_B = model.generators['G_A'], model.generators['G_B']  # noqa: N806
    data = batch(size=32)
    real_a, real_b = to_net(data['inputs']['A']), to_net(data['inputs']['B'])
    with torch.no_grad():
        if position == 'cycle':
            expected = resnet_encoder(G_B, G_A(real_a))
            # G_B's other calls: on the real B (fake_A) and on A (identity loss)
            others = [resnet_encoder(G_B, real_b), resnet_encoder(G_B, real_a)]
        else:
            expected = resnet_encoder(G_A, real_a)
            others = [resnet_encoder(G_A, G_B(real_b)), resnet_encoder(G_A, real_b)]
        net = model.teachers['teacher'].network
        x_t = ((real_a * 127.5 + 127.5) - torch.tensor(IMAGENET['mean']).view(3, 1, 1)) \
            / torch.tensor(IMAGENET['std']).view(3, 1, 1)
        teacher_map = net.layer1(net.maxpool(net.relu(net.bn1(net.conv1(x_t)))))
        expected_pred = model.pairs.projectors['enc'].project(teacher_map)
    proj_before = model.pairs.projectors['enc'].proj.weight.detach().clone()
    outputs = capture_pair_outputs(model)
    optim = translation_optim(model)
    log = model.train_step(data, optim)

    (out,) = outputs  # one pair computation per step
    pred, target, loss = out['enc']
    assert target.shape == (2, 32, 8, 8)  # 4 ngf channels at 1/4 of 32 x 32
    assert torch.allclose(target, expected, atol=1e-5)
    for other in others:
        assert (target - other).abs().max() > 0.1
    assert torch.allclose(pred, expected_pred, atol=1e-4)  # P(teacher(x)), 8 x 8 already
    assert float(log['loss_distill_enc']) == pytest.approx(
        torch.mean((expected_pred - expected) ** 2).item(), rel=1e-4)
    assert float(log['loss_G']) == pytest.approx(sum(
        float(v) for k, v in log.items() if k.startswith('loss_') and k not in
        ('loss_G', 'loss_D', 'loss_D_A', 'loss_D_B')), rel=1e-5)
    generator_params = {id(p) for g in optim['generators'].optimizer.param_groups
                        for p in g['params']}
    assert id(model.pairs.projectors['enc'].proj.weight) in generator_params
    assert not torch.equal(proj_before, model.pairs.projectors['enc'].proj.weight)


def test_pix2pix_feature_is_the_bottleneck_before_the_in_place_relu():
    """The U-Net's encoder output (its innermost down-convolution) is followed by an
    in-place ReLU; the pair sees the convolution's output, negative values included
    (the recorder copies it, a fact it learnt in the build-time dry run, so the
    training step runs G once)."""
    torch.manual_seed(0)
    encoder_output = UnetGenerator(num_downs=5, ngf=8).encoder_output
    model = Pix2Pix(dict(type='UnetGenerator', num_downs=5, ngf=8),
                    dict(type='NLayerDiscriminator', in_channels=6, ndf=8), **TEACHER,
                    infer_input_size=(32, 32),
                    distill_pairs=[fitnets_pair('G.' + encoder_output)]).train()
    G = model.generators['G']  # noqa: N806
    conv = G.get_submodule(encoder_output)
    parent = G.get_submodule(encoder_output.rsplit('.', 1)[0])
    relu = parent[int(encoder_output.rsplit('.', 1)[1]) + 1]
    assert isinstance(relu, nn.ReLU) and relu.inplace
    data = batch(size=32)
    by_hand = []
    handle = conv.register_forward_hook(lambda m, args, out: by_hand.append(out.clone()))
    with torch.no_grad():  # training mode: batch statistics, as in the step (no dropout)
        G(to_net(data['inputs']['A']))
    handle.remove()
    expected = by_hand[0]
    assert (expected < 0).any()
    calls = []
    G.register_forward_hook(lambda m, args, out: calls.append(1))
    outputs = capture_pair_outputs(model)
    model.train_step(data, translation_optim(model))
    target = outputs[0]['enc'].target
    assert target.shape == (2, 64, 1, 1)  # 8 ngf channels, 1 x 1 for 32 x 32
    assert torch.allclose(target, expected, atol=1e-5)
    assert not torch.allclose(target, expected.clamp(min=0))
    assert len(calls) == 1


def test_distillation_takes_crosstaskdistillers_keys():
    """`teacher` + `teacher_*` or `teachers` through the core's build_teachers; the
    GAN input's normalisation is declared to every teacher; misspelt keys fail."""
    from mmengine.config import Config

    from mmkd_invproj.teachers import FrozenTeacher
    from mmkd_invproj.utils.config_check import unexpected_model_keys
    torch.manual_seed(0)
    net = dict(type='TorchvisionTeacher', model_name='resnet18', weights=None)
    model = small_cyclegan(
        teachers=dict(imagenet=dict(model=net, seed=0, norm=IMAGENET),
                      raw=dict(model=net, seed=1)),
        distill_pairs=[fitnets_pair('G_B.model.11', teacher_name='imagenet'),
                       dict(fitnets_pair('G_B.model.10', 'layer2', teacher_name='raw'),
                            name='mid')],
        infer_input_size=(32, 32))
    assert all(isinstance(t, FrozenTeacher) for t in model.teachers.values())
    assert model.pairs.teacher_names == ['imagenet', 'raw']
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    expected = ((x * 127.5 + 127.5) - torch.tensor(IMAGENET['mean']).view(3, 1, 1)) \
        / torch.tensor(IMAGENET['std']).view(3, 1, 1)
    assert torch.allclose(model.teachers['imagenet'].prepare(x), expected, atol=1e-5)
    assert torch.equal(model.teachers['raw'].prepare(x), x)  # no norm: [-1, 1] as it is
    log = model.train_step(batch(size=32), translation_optim(model))
    assert {'loss_distill_enc', 'loss_distill_mid'} <= set(log)

    with pytest.raises(TypeError, match='teacher_norm'):
        small_cyclegan(teacher=net, teacher_nrom=IMAGENET)
    with pytest.raises(ValueError, match='either'):
        small_cyclegan(teacher=net, teachers=dict(a=dict(model=net)))
    cfg = Config(dict(model=dict(type='CycleGAN', generator={}, discriminator={}, teacher=net,
                                 teacher_seed=0, infer_input_size=(64, 64), distill_pairs=[],
                                 teacher_nrom=IMAGENET)))
    assert unexpected_model_keys(cfg) == ('CycleGAN', ['teacher_nrom'])



def test_cyclegan_pair_outside_the_distilled_generator_fails_early():
    pair = dict(name='enc', student='G_A.model.18', teacher='encoder',
                loss=dict(type='FitNetsLoss'))
    with pytest.raises(ValueError, match="distill_position='cycle'.*G_B"):
        small_cyclegan(distill_position='cycle', distill_pairs=[pair])
    with pytest.raises(ValueError, match='distill_position must be'):
        small_cyclegan(distill_position='decoder')


def test_encoder_output_names_match_the_configs():
    from mmengine.config import Config

    from .conftest import REPO
    cfg = Config.fromfile(f'{REPO}/configs/translation/cyclegan_maps.py')
    assert cfg.kd_student_feature['cycle']['student'] == 'G_B.' + ResnetGenerator().encoder_output
    cfg = Config.fromfile(f'{REPO}/configs/translation/pix2pix_facades_colorization.py')
    from mmkd_invproj.translation import UnetGenerator
    net = UnetGenerator(num_downs=8, ngf=1)
    assert cfg.kd_student_feature['student'] == 'G.' + net.encoder_output


def test_generator_extraction_keeps_one_generator_and_drops_the_rest():
    from mmkd_invproj.apis import extract_generator_state_dict
    torch.manual_seed(0)
    model = small_cyclegan(**TEACHER, infer_input_size=(32, 32),
                           distill_pairs=[fitnets_pair('G_B.model.11')])
    state = model.state_dict()
    g_b, dropped = extract_generator_state_dict(state, 'G_B')
    net = ResnetGenerator(ngf=8, n_blocks=2)
    net.load_state_dict(g_b, strict=True)
    assert all(torch.equal(v, state[f'generators.G_B.{k}']) for k, v in g_b.items())
    count = dict.fromkeys(('teachers', 'pairs', 'discriminators'), 0)
    for key in state:
        if key.split('.', 1)[0] in count:
            count[key.split('.', 1)[0]] += 1
    count['generators.G_A'] = len(g_b)  # the same architecture
    assert dropped == count and count['pairs'] == 1  # the projector's weight
    both, _ = extract_generator_state_dict(state)
    assert {k.split('.', 1)[0] for k in both} == {'G_A', 'G_B'}
    with pytest.raises(KeyError, match=r"\['G_A', 'G_B'\]"):
        extract_generator_state_dict(state, 'G')
    with pytest.raises(KeyError, match='Pix2Pix / CycleGAN'):
        extract_generator_state_dict({'student.x': torch.zeros(1)})


def lab_pix2pix(**kwargs):
    """The colorization student in Lab mode (L -> ab), small."""
    return Pix2Pix(dict(type='UnetGenerator', in_channels=1, out_channels=2, num_downs=5, ngf=8),
                   dict(type='NLayerDiscriminator', in_channels=3, ndf=8),
                   data_preprocessor=dict(type='TranslationDataPreprocessor', colour_space='lab'),
                   **kwargs)


def record_teacher_inputs(model):
    """Every ``data_preprocessor.teacher_input`` call of ``model``: (input, output)."""
    calls = []
    original = model.data_preprocessor.teacher_input

    def recording(real_a):
        out = original(real_a)
        calls.append((real_a.detach().clone(), out.detach().clone()))
        return out
    model.data_preprocessor.teacher_input = recording
    return calls


@pytest.mark.parametrize('make', [lab_pix2pix, small_cyclegan])
def test_teacher_input_is_made_only_when_distilling(make):
    """Without distillation pairs a step does not convert the input for a teacher (in
    Lab mode a full Lab -> RGB conversion per step); with pairs it does, once."""
    torch.manual_seed(0)
    plain = make().train()
    calls = record_teacher_inputs(plain)
    plain.train_step(batch(size=32), translation_optim(plain))
    assert calls == []
    student = 'G.' + UnetGenerator(num_downs=5).encoder_output if make is lab_pix2pix \
        else 'G_B.model.11'
    distilled = make(**TEACHER, infer_input_size=(32, 32),
                     distill_pairs=[fitnets_pair(student)]).train()
    calls = record_teacher_inputs(distilled)
    data = batch(size=32)
    distilled.train_step(data, translation_optim(distilled))
    ((real_a, teacher_input),) = calls
    expected = to_net(data['inputs']['A']) if make is small_cyclegan else \
        distilled.data_preprocessor(copy.deepcopy(data), True)['inputs']['A']
    assert torch.equal(real_a, expected)  # the real input x of the step
    assert teacher_input.shape == (2, 3, 32, 32)


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU bfloat16 branch')
def test_lab_teacher_input_is_float32_inside_the_autocast_of_the_step():
    """The teacher input is made inside the generator's optim context (autocast with an
    AMP wrapper) but stays the float32 Lab -> RGB conversion it was outside it."""
    torch.manual_seed(0)
    model = lab_pix2pix(**TEACHER, infer_input_size=(32, 32), distill_pairs=[
        fitnets_pair('G.' + UnetGenerator(num_downs=5).encoder_output)]).train()
    calls = record_teacher_inputs(model)
    optim = OptimWrapperDict(
        generators=AnyDeviceAmpOptimWrapper(optimizer=adamw(
            list(model.generators.parameters()) + list(model.pairs.parameters()))),
        discriminators=AnyDeviceAmpOptimWrapper(
            optimizer=adamw(model.discriminators.parameters())))
    model.train_step(batch(size=32), optim)
    ((real_a, teacher_input),) = calls
    assert teacher_input.dtype == torch.float32
    # outside any autocast: L -> RGB in [0, 1] -> [-1, 1]
    assert torch.equal(teacher_input, model.data_preprocessor.to_rgb(real_a, 'A') * 2 - 1)


def test_paramwise_custom_keys_match_the_model_parameter_names():
    """paramwise_cfg.custom_keys are written against the model's own parameter names
    (``generators.G...``, ``pairs.projectors...``, ``discriminators.D...``), as for
    any MMEngine model, not against the optimizer group's internal container."""
    torch.manual_seed(0)
    model = Pix2Pix(dict(type='UnetGenerator', num_downs=5, ngf=8),
                    dict(type='NLayerDiscriminator', in_channels=6, ndf=8), **TEACHER,
                    infer_input_size=(32, 32),
                    distill_pairs=[fitnets_pair('G.' + UnetGenerator(num_downs=5).encoder_output)])
    names = {n: p for n, p in model.named_parameters() if p.requires_grad}  # not the teacher
    first_d = next(n for n in names if n.startswith('discriminators.D.'))
    keys = {'pairs.projectors': dict(lr_mult=0.1), 'generators.G': dict(lr_mult=0.5),
            first_d: dict(lr_mult=0.25)}
    cfg = dict(generators=dict(optimizer=dict(type='AdamW', lr=2e-4)),
               discriminators=dict(optimizer=dict(type='AdamW', lr=1e-4)))
    with DefaultScope.overwrite_default_scope('mmseg'):
        optim = TranslationOptimWrapperConstructor(cfg, dict(custom_keys=keys))(model)
    lr = {id(p): g['lr'] for w in optim.values() for g in w.optimizer.param_groups
          for p in g['params']}
    expected = {}
    for name in names:
        if name.startswith('pairs.projectors.'):
            expected[name] = 2e-4 * 0.1
        elif name.startswith('generators.G.'):
            expected[name] = 2e-4 * 0.5
        else:
            expected[name] = 1e-4 * (0.25 if name == first_d else 1.0)
    assert any(n.startswith('pairs.projectors.') for n in names)
    assert {n: lr[id(p)] for n, p in names.items()} == pytest.approx(expected)

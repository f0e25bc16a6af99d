"""Pix2Pix and CycleGAN train steps against the official optimize_parameters written as a
plain PyTorch loop, the step order, prediction, the optimizer groups, AMP, and where the
distillation feature is recorded (with stand-ins for the core's teacher and pairs)."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import DefaultScope

from mmkd_invproj.engine import AnyDeviceAmpOptimWrapper
from mmkd_invproj.translation import (CycleGAN, Pix2Pix, ResnetGenerator,
                                      TranslationOptimWrapperConstructor)
from mmkd_invproj.translation.cyclegan import DISTILL_POSITIONS


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
    """An OptimWrapper that notes when it updates."""

    def __init__(self, name, log, **kwargs):
        super().__init__(**kwargs)
        self.name, self.log = name, log

    def update_params(self, loss, **kwargs):
        self.log.append(self.name)
        super().update_params(loss, **kwargs)


def wrappers(model, log=None):
    log = [] if log is None else log
    return OptimWrapperDict(
        generators=RecordingWrapper('generators', log,
                                    optimizer=adamw(model.generators.parameters())),
        discriminators=RecordingWrapper('discriminators', log,
                                        optimizer=adamw(model.discriminators.parameters())))


def official_pix2pix_step(G, D, opt_g, opt_d, real_a, real_b, lambda_l1=100.0):
    """Pix2PixModel.optimize_parameters of junyanz/pytorch-CycleGAN-and-pix2pix."""
    fake_b = G(real_a)
    for p in D.parameters():
        p.requires_grad_(True)
    opt_d.zero_grad()
    pred_fake = D(torch.cat((real_a, fake_b), 1).detach())
    loss_d_fake = F.binary_cross_entropy_with_logits(pred_fake, torch.zeros_like(pred_fake))
    pred_real = D(torch.cat((real_a, real_b), 1))
    loss_d_real = F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real))
    ((loss_d_fake + loss_d_real) * 0.5).backward()
    opt_d.step()
    for p in D.parameters():
        p.requires_grad_(False)
    opt_g.zero_grad()
    pred_fake = D(torch.cat((real_a, fake_b), 1))
    loss_g_gan = F.binary_cross_entropy_with_logits(pred_fake, torch.ones_like(pred_fake))
    loss_g_l1 = F.l1_loss(fake_b, real_b) * lambda_l1
    (loss_g_gan + loss_g_l1).backward()
    opt_g.step()
    return dict(loss_G_GAN=loss_g_gan, loss_G_L1=loss_g_l1)


def official_cyclegan_step(G_A, G_B, D_A, D_B, opt_g, opt_d, real_a, real_b):  # noqa: N803
    """CycleGANModel.optimize_parameters (lambda_A = lambda_B = 10, identity 0.5, LSGAN;
    the image pools are not full yet, so they return the batch)."""
    fake_b = G_A(real_a)
    rec_a = G_B(fake_b)
    fake_a = G_B(real_b)
    rec_b = G_A(fake_a)
    for p in list(D_A.parameters()) + list(D_B.parameters()):
        p.requires_grad_(False)
    opt_g.zero_grad()
    loss_idt_a = F.l1_loss(G_A(real_b), real_b) * 10 * 0.5
    loss_idt_b = F.l1_loss(G_B(real_a), real_a) * 10 * 0.5
    pa, pb = D_A(fake_b), D_B(fake_a)
    loss_g_a = F.mse_loss(pa, torch.ones_like(pa))
    loss_g_b = F.mse_loss(pb, torch.ones_like(pb))
    loss_cycle_a = F.l1_loss(rec_a, real_a) * 10
    loss_cycle_b = F.l1_loss(rec_b, real_b) * 10
    (loss_g_a + loss_g_b + loss_cycle_a + loss_cycle_b + loss_idt_a + loss_idt_b).backward()
    opt_g.step()
    for p in list(D_A.parameters()) + list(D_B.parameters()):
        p.requires_grad_(True)
    opt_d.zero_grad()
    for D, real, fake in ((D_A, real_b, fake_b), (D_B, real_a, fake_a)):
        pr, pf = D(real), D(fake.detach())
        ((F.mse_loss(pr, torch.ones_like(pr)) + F.mse_loss(pf, torch.zeros_like(pf))) * 0.5
         ).backward()
    opt_d.step()
    return dict(loss_cycle_A=loss_cycle_a, loss_idt_B=loss_idt_b, loss_G_B=loss_g_b)


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
    order = []
    optim = wrappers(model, order)
    for step in range(2):
        data = batch(seed=step)
        log = model.train_step(data, optim)
        ref = official_cyclegan_step(*nets, opt_g, opt_d, to_net(data['inputs']['A']),
                                     to_net(data['inputs']['B']))
        for key, value in ref.items():
            assert float(log[key]) == pytest.approx(value.item(), rel=1e-5), key
    assert order == ['generators', 'discriminators'] * 2  # G step, then D step
    for name, ref in zip(('G_A', 'G_B'), nets[:2]):
        assert_same_parameters(model.generators[name], ref)
    for name, ref in zip(('D_A', 'D_B'), nets[2:]):
        assert_same_parameters(model.discriminators[name], ref)


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


class StubTeacher(nn.Module):
    """Stands in for the core's FrozenTeacher: notes its input."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return {'feat': x.mean(1, keepdim=True)}


class StubPairs(nn.Module):
    """Stands in for the core's DistillPairs: records ``module`` of the student only inside
    ``run_student``, one trainable projector."""

    def __init__(self, student, module):
        super().__init__()
        self.proj = nn.Conv2d(1, 1, 1)
        self.recording, self.records = False, []
        dict(student.named_modules())[module].register_forward_hook(self._hook)

    def _hook(self, module, inputs, output):
        if self.recording:
            self.records.append(output.detach().clone())

    def calibrate(self, fn, teacher_features, input_hw):
        self.calibrated = (self.run_student(fn).shape, self.records.pop().shape,
                           tuple(teacher_features['teacher']['feat'].shape), input_hw)

    def run_student(self, fn, *args, **kwargs):
        self.recording = True
        try:
            return fn(*args, **kwargs)
        finally:
            self.recording = False

    def forward(self, teacher_features, input_hw):
        target = self.proj(teacher_features['teacher']['feat'])
        loss = (self.records[-1].mean() - target.mean()) ** 2
        return {'enc': (self.records[-1], target, loss)}

    def losses(self, outputs):
        return {f'loss_distill_{k}': v[2] for k, v in outputs.items()}


@pytest.mark.parametrize('position, generator', [('cycle', 'G_B'), ('forward', 'G_A')])
def test_cyclegan_distillation_feature_is_recorded_in_its_own_call(position, generator):
    """'cycle': Z_s = G_B_E(G_A(x)), although G_B also runs on real B and for the identity
    loss; 'forward': Z_s = G_A_E(x). The teacher sees the real input x = A."""
    torch.manual_seed(0)
    model = small_cyclegan(distill_position=position).train()
    G_A, G_B = model.generators['G_A'], model.generators['G_B']  # noqa: N806
    encoder_end = int(G_A.encoder_output.split('.')[1])
    model.teachers = nn.ModuleDict({'teacher': StubTeacher()})
    model.distill_pairs = StubPairs(model.generators, f'{generator}.{G_A.encoder_output}')
    data = batch()
    real_a = to_net(data['inputs']['A'])
    with torch.no_grad():
        x = G_A(real_a) if position == 'cycle' else real_a
        expected = model.generators[generator].model[:encoder_end + 1](x)
    optim = OptimWrapperDict(
        generators=OptimWrapper(adamw(list(model.generators.parameters())
                                      + list(model.distill_pairs.parameters()))),
        discriminators=OptimWrapper(adamw(model.discriminators.parameters())))
    proj_before = model.distill_pairs.proj.weight.detach().clone()
    log = model.train_step(data, optim)
    assert len(model.distill_pairs.records) == 1
    assert torch.allclose(model.distill_pairs.records[0], expected, atol=1e-5)
    assert torch.equal(model.teachers['teacher'].seen[0], real_a)
    assert 'loss_distill_enc' in log
    assert float(log['loss_G']) == pytest.approx(sum(
        float(v) for k, v in log.items() if k.startswith('loss_') and k not in
        ('loss_G', 'loss_D', 'loss_D_A', 'loss_D_B')), rel=1e-5)
    assert not torch.equal(proj_before, model.distill_pairs.proj.weight)  # trained with G


@pytest.mark.parametrize('position', ['cycle', 'forward'])
def test_distillation_is_built_from_the_config_keys_and_calibrated(monkeypatch, position):
    """`teacher` / `distill_pairs` go to the core's builders (stand-ins here); the pairs'
    student is the generators; the dry run goes through the distilled generator."""
    from mmkd_invproj.translation import base
    built = {}

    def build_teachers(teacher, teachers):
        built['teacher_cfg'] = teacher
        return nn.ModuleDict({'teacher': StubTeacher()})

    def build_distill_pairs(pairs, student, teachers):
        built['student'], built['teachers'] = student, teachers
        return StubPairs(student, pairs[0]['student'])

    monkeypatch.setattr(base, 'build_teachers', build_teachers)
    monkeypatch.setattr(base, 'build_distill_pairs', build_distill_pairs)
    generator = DISTILL_POSITIONS[position][0]
    pair = dict(name='enc', student=f'{generator}.model.11', teacher='x', loss=dict())
    model = small_cyclegan(distill_position=position, teacher=dict(model='stub'),
                           distill_pairs=[pair], distill_input_size=(64, 48))
    assert built['teacher_cfg'] == dict(model='stub') and built['student'] is model.generators
    assert built['teachers'] is model.teachers
    out, feat, teacher_feat, hw = model.distill_pairs.calibrated
    # ngf 8: 32 channels at 1/4 resolution, one call, the teacher on a 3-channel image
    assert out == (1, 3, 64, 48) and feat == (1, 32, 16, 12) and hw == (64, 48)
    assert teacher_feat == (1, 1, 64, 48)
    assert model.optim_groups()['generators'] == [model.generators, model.distill_pairs]


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

"""The distillation core: frozen teachers, the pairs component, in-place safety,
deep copies, several teachers, and old checkpoints."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmkd_invproj  # noqa: F401
from mmkd_invproj.registry import MODELS

from .conftest import DEPTH_DEMO as DEMO
from .conftest import MBV2_WEIGHTS, SHARED



def demo_batches(n=1):
    """Preprocessed batches of the depth demo's real training frames (nyu_mini)."""
    from mmengine.runner import Runner
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(DEMO)
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_dataloader.dataset.data_root = osp.join(SHARED, 'data', 'nyu_mini')
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
        return cfg, [b for _, b in zip(range(n), loader)]


def build(model_cfg):
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(model_cfg)


def demo_model(**overrides):
    cfg, batches = demo_batches()
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.teacher_ckpt = MBV2_WEIGHTS
    model_cfg.update(overrides)
    model = build(model_cfg)
    data = model.data_preprocessor(batches[0], True)
    return model, data['inputs'], data['data_samples']


def output_refs(module):
    """A hook keeping a *copy* of every output of ``module``: the reference."""
    refs = []
    module.register_forward_hook(lambda m, i, o: refs.append(o.detach().clone()))
    return refs


def test_in_place_activation_after_a_hooked_module_does_not_reach_the_loss():
    """torchvision's MobileNetV2 applies ReLU6(inplace) to `features.0.1` (BN) and
    MMSeg's ConvModule to `backbone.conv1.bn`: the pair must see the BN outputs."""
    pair = dict(name='bn', student='backbone.conv1.bn', teacher='features.0.1',
                projector=dict(type='InvertedProjector'), loss=dict(type='FitNetsLoss'))
    model, inputs, samples = demo_model(distill_pairs=[pair], teacher_early_exit=False)
    model.train()
    teacher = model.teachers['teacher']
    t_ref = output_refs(teacher.network.features[0][1])
    s_ref = output_refs(model.student.backbone.conv1.bn)
    t_feat = teacher(inputs)['features.0.1']
    assert torch.equal(t_feat, t_ref[-1]) and t_feat.min() < 0
    losses, outputs = model.pair_outputs(inputs, samples)
    target = outputs['bn'].target  # inverted: the student's feature, on its own grid
    assert torch.equal(target.detach(), s_ref[-1]) and target.min() < 0
    pred = model.pairs.projectors['bn'].proj(t_ref[-1])
    assert torch.allclose(outputs['bn'].loss, F.mse_loss(pred, s_ref[-1]), rtol=1e-5)
    # the copy is differentiable: the distillation loss alone reaches the student
    outputs['bn'].loss.backward()
    assert model.student.backbone.conv1.conv.weight.grad.abs().sum() > 0


def test_features_nothing_modifies_are_not_copied():
    model, inputs, samples = demo_model()
    model.train()
    outs = []
    model.student.backbone.register_forward_hook(lambda m, i, o: outs.append(o[-1]))
    _, outputs = model.pair_outputs(inputs, samples)
    assert outputs['enc'].target is outs[-1]  # the module's own tensor, no copy
    teacher = model.teachers['teacher']
    t_outs = []
    teacher.network.features[18].register_forward_hook(lambda m, i, o: t_outs.append(o),
                                                       prepend=True)  # before the early exit
    assert teacher(inputs)['features.18'] is t_outs[-1]


def test_model_deep_copies_after_a_training_step_and_the_copy_records_for_itself():
    model, inputs, samples = demo_model()
    model.train()
    sum(model.loss(inputs, samples).values()).backward()
    clone = copy.deepcopy(model)
    for (name, p), (_, q) in zip(model.named_parameters(), clone.named_parameters()):
        assert torch.equal(p, q) and p is not q, name
    clone_losses = clone.loss(inputs, samples)  # hooks of the copy feed the copy
    assert set(clone_losses) == {'decode.loss_silog', 'loss_distill_enc'}
    with pytest.raises(RuntimeError, match='never fired'):  # the original recorded nothing
        model.pairs.student_maps()


def test_two_teachers_each_run_once_and_each_pair_reads_its_own():
    """A classification teacher (real ImageNet MobileNetV2) and a random ResNet-18,
    each pair checked against a loss computed by hand from that teacher."""
    import torchvision
    teachers = dict(
        cls=dict(model=dict(type='TorchvisionTeacher', model_name='mobilenet_v2'),
                 checkpoint=MBV2_WEIGHTS),
        rand=dict(model=dict(type='TorchvisionTeacher', model_name='resnet18'), seed=0))
    pairs = [
        dict(name='cls', student='backbone', student_index=-1, teacher='features.18',
             teacher_name='cls', projector=dict(type='InvertedProjector'),
             loss=dict(type='FitNetsLoss')),
        dict(name='rand', student='backbone', student_index=3, teacher='layer3',
             teacher_name='rand', projector=dict(type='TraditionalProjector'),
             loss=dict(type='ATLoss'))]
    model, inputs, samples = demo_model(teacher=None, teacher_ckpt=None, teachers=teachers,
                                        distill_pairs=pairs)
    model.train()
    mbv2, r18 = model.teachers['cls'].network, model.teachers['rand'].network
    calls = {k: 0 for k in ('f18', 'cls_head', 'layer3', 'layer4')}
    for key, module in (('f18', mbv2.features[18]), ('cls_head', mbv2.classifier),
                        ('layer3', r18.layer3), ('layer4', r18.layer4)):
        module.register_forward_hook(lambda *a, k=key: calls.__setitem__(k, calls[k] + 1),
                                     prepend=True)  # counted before an early exit
    losses, outputs = model.pair_outputs(inputs, samples)
    assert calls == dict(f18=1, cls_head=0, layer3=1, layer4=0)
    # by hand: torchvision's own networks, the student's own backbone
    ref_mbv2 = torchvision.models.mobilenet_v2()
    ref_mbv2.load_state_dict(torch.load(MBV2_WEIGHTS, map_location='cpu'))
    with torch.no_grad():
        t_cls = ref_mbv2.eval().features(inputs)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            ref_r18 = torchvision.models.resnet18().eval()
        x = ref_r18.maxpool(ref_r18.relu(ref_r18.bn1(ref_r18.conv1(inputs))))
        t_rand = ref_r18.layer3(ref_r18.layer2(ref_r18.layer1(x)))
    s_feats = model.student.backbone(inputs)
    p_cls = model.pairs.projectors['cls'].proj
    pred = F.interpolate(p_cls(t_cls), size=s_feats[-1].shape[-2:], mode='bilinear',
                         align_corners=False)
    assert torch.allclose(outputs['cls'].loss, F.mse_loss(pred, s_feats[-1]), rtol=1e-4)
    p_rand = model.pairs.projectors['rand'].proj
    s_proj = p_rand(s_feats[3])  # traditional: the student map goes to the teacher's space
    assert s_proj.shape[-2:] == t_rand.shape[-2:]

    def at(f):
        return F.normalize(f.pow(2).mean(1).flatten(1), dim=1)
    ref_at = (at(s_proj) - at(t_rand)).pow(2).mean()
    assert torch.allclose(outputs['rand'].loss, ref_at, rtol=1e-4)
    assert set(losses) | {f'loss_distill_{k}' for k in outputs} == set(model.loss(inputs, samples))


def test_several_teachers_need_a_teacher_name():
    cfg, _ = demo_batches(0)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.update(teacher=None, teachers=dict(
        a=dict(model=dict(type='TorchvisionTeacher', model_name='mobilenet_v2')),
        b=dict(model=dict(type='TorchvisionTeacher', model_name='mobilenet_v2'))))
    with pytest.raises(ValueError, match=r"several teachers \['a', 'b'\]; set teacher_name"):
        build(model_cfg)
    model_cfg.distill_pairs[0]['teacher_name'] = 'c'
    with pytest.raises(ValueError, match=r'teacher_name "c" is not one of the teachers'):
        build(model_cfg)


def test_misspelt_teacher_arguments_name_the_closest_valid_one(tmp_path):
    from mmkd_invproj.teachers import build_teachers
    with pytest.raises(TypeError, match=r'teachers\["mbv2"\] has unknown arguments '
                       r"\['chekpoint'\] \(did you mean \{'chekpoint': \['checkpoint'\]\}\?\)"):
        build_teachers(teachers=dict(mbv2=dict(model=dict(type='TorchvisionTeacher',
                                                          model_name='mobilenet_v2'),
                                               chekpoint=MBV2_WEIGHTS)))
    # ... and a misspelt distiller keyword, before anything is built (tools' check)
    from mmkd_invproj.utils.config_check import check_config
    cfg = Config.fromfile(DEMO)
    cfg.model.teacher_ckp = MBV2_WEIGHTS
    with pytest.raises(TypeError, match=r"CrossTaskDistiller does not take \['teacher_ckp'\] "
                       r"\(did you mean \{'teacher_ckp': \['teacher_ckpt'"):
        check_config(cfg)


def test_checkpoints_of_the_earlier_layout_still_load():
    model, _, _ = demo_model()
    legacy = {}
    for key, value in model.state_dict().items():
        for new, old in (('teachers.teacher.network.', 'teacher.'),
                         ('pairs.projectors.', 'projectors.'),
                         ('pairs.distill_losses.', 'distill_losses.')):
            if key.startswith(new):
                key = old + key[len(new):]
        legacy[key] = value.clone() + 1 if value.is_floating_point() else value.clone()
    assert any(k.startswith('teacher.') for k in legacy)
    fresh, _, _ = demo_model()
    fresh.load_state_dict(legacy, strict=True)
    w = fresh.pairs.projectors['enc'].proj.weight
    assert torch.equal(w, model.pairs.projectors['enc'].proj.weight + 1)


def test_pairs_compare_given_student_maps_as_forward_does():
    """student_maps() + compare() is forward(); compare() computes the named pairs
    only, on any maps (the benchmark times it on detached copies)."""
    spectral = dict(name='spec', student='decode_head.conv_in', student_source='input',
                    loss=dict(type='SpectralLoss', rank=2))
    model, inputs, samples = demo_model(distill_pairs=[
        dict(name='enc', student='backbone', student_index=-1, teacher='features.18',
             projector=dict(type='InvertedProjector'), loss=dict(type='FitNetsLoss')),
        spectral])
    model.train()
    _, outputs = model.pair_outputs(inputs, samples)
    features = model.teacher_features(inputs)
    model.pairs.run_student(model.student.loss, inputs, samples)
    maps = model.pairs.student_maps(inputs.shape[-2:])
    with pytest.raises(RuntimeError, match='never fired'):  # the recording was released
        model.pairs.student_maps(inputs.shape[-2:])
    assert [tuple(m.shape) for m in maps.values()] == [(2, 160, 7, 9)] * 2  # stride 32
    again = model.pairs.compare(maps, features)
    for name in ('enc', 'spec'):
        assert torch.allclose(again[name].loss, outputs[name].loss, rtol=1e-6), name
    leaf = maps['spec'].detach().requires_grad_()
    only = model.pairs.compare({'spec': leaf}, features)
    assert list(only) == ['spec'] and only['spec'].pred is None
    only['spec'].loss.backward()
    assert leaf.grad is not None and leaf.grad.abs().sum() > 0


def test_remove_hooks_unhooks_teacher_and_pairs_and_the_teacher_can_watch_again():
    """Before: DistillPairs.remove_hooks() left its recorder's names (only
    FrozenTeacher cleared them, from outside the recorder)."""
    import torch.nn as nn

    from mmkd_invproj.distillers.pairs import DistillPairs
    from mmkd_invproj.teachers import FrozenTeacher
    torch.manual_seed(0)
    student = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU())
    teacher = FrozenTeacher(nn.Sequential(nn.Conv2d(3, 6, 1), nn.ReLU()))
    pairs = DistillPairs([dict(name='a', student='0', teacher='0',
                               projector=dict(type='InvertedProjector'),
                               loss=dict(type='FitNetsLoss'))], student, {'teacher': teacher})
    assert pairs._recorder.names == ['0'] and teacher.watched == ['0']
    pairs.remove_hooks()
    teacher.remove_hooks()
    assert pairs._recorder.names == [] and teacher._recorder.names == []
    assert teacher.watched == []
    assert not any(m._forward_hooks for m in list(student.modules())
                   + list(teacher.network.modules()))
    key = teacher.watch('0')
    x = torch.randn(2, 3, 5, 5)
    torch.testing.assert_close(teacher(x)[key], teacher.network[0](x), rtol=0, atol=0)


def test_unknown_key_messages_of_pairs_and_teachers_keep_their_exact_text():
    """One helper (utils.keys.unknown_keys_message) words all three; the texts are
    those the pairs and teachers gave before it."""
    from mmkd_invproj.distillers.pairs import PairSpec
    from mmkd_invproj.teachers import build_teachers
    from mmkd_invproj.utils.keys import unknown_keys_message
    with pytest.raises(ValueError) as err:
        PairSpec(dict(name='a', student='b', loss={}, projecter={}, zzz=1), 3)
    assert str(err.value) == (
        "distill_pairs[3] has unknown keys ['projecter', 'zzz'] (did you mean {'projecter': "
        "['projector'], 'zzz': []}?); valid keys: ['name', 'student', 'student_index', "
        "'student_source', 'teacher', 'teacher_index', 'teacher_name', 'projector', 'loss']")
    with pytest.raises(TypeError) as err:
        build_teachers(teacher=None, teacher_ckp='x', teacher_seed=None)
    assert str(err.value) == (
        "unknown teacher arguments ['teacher_ckp'] (did you mean {'teacher_ckp': "
        "['teacher_ckpt']}?); valid: ['teacher_ckpt', 'teacher_ckpt_prefix', "
        "'teacher_ckpt_strict', 'teacher_seed', 'teacher_norm', 'teacher_input_size', "
        "'teacher_dtype', 'teacher_method', 'teacher_early_exit', 'teacher_patch_size']")
    with pytest.raises(TypeError) as err:
        build_teachers(teachers=dict(t=dict(type='FrozenTeacher', model=None, inputsize=1)))
    assert str(err.value) == (
        "teachers[\"t\"] has unknown arguments ['inputsize'] (did you mean {'inputsize': "
        "['input_size']}?); FrozenTeacher takes ['model', 'checkpoint', 'checkpoint_prefix', "
        "'strict', 'seed', 'norm', 'input_size', 'dtype', 'method', 'early_exit', "
        "'patch_size']")
    assert unknown_keys_message({'name': 1}, ('name', 'loss'), 'x') is None


def test_distiller_and_translation_students_share_one_teacher_holder():
    """CrossTaskDistiller and the translation students take teacher_features and the
    projector dry run from TeacherHolderMixin. The dry run: the student call on a zero
    image of infer_input_size with the student's channels, in eval mode and without
    gradient, the teachers on a zero RGB image; the channels it gives the projector;
    the student's mode restored; nothing run once every projector has its channels."""
    import torch.nn as nn

    from mmkd_invproj.distillers import CrossTaskDistiller, DistillPairs, TeacherHolderMixin
    from mmkd_invproj.teachers import FrozenTeacher
    from mmkd_invproj.translation import BaseTranslationModel
    for cls in (CrossTaskDistiller, BaseTranslationModel):
        assert cls.teacher_features is TeacherHolderMixin.teacher_features
        assert cls.calibrate_pairs is TeacherHolderMixin.calibrate_pairs

    class Holder(TeacherHolderMixin, nn.Module):
        def __init__(self):
            super().__init__()
            self.student = nn.Sequential(nn.Conv2d(2, 4, 1), nn.ReLU())
            self.teachers = nn.ModuleDict(
                dict(t=FrozenTeacher(nn.Sequential(nn.Conv2d(3, 6, 1), nn.ReLU()))))
            self.pairs = DistillPairs([dict(name='a', student='0', teacher='0',
                                            projector=dict(type='InvertedProjector'),
                                            loss=dict(type='FitNetsLoss'))],
                                      self.student, self.teachers)
            self.infer_input_size = (5, 7)

    torch.manual_seed(0)
    holder = Holder().train()
    seen = []
    holder.student[0].register_forward_pre_hook(lambda m, args: seen.append(
        ('student', args[0].clone(), m.training, torch.is_grad_enabled())))
    holder.teachers['t'].network[0].register_forward_pre_hook(lambda m, args: seen.append(
        ('teacher', args[0].clone())))
    assert holder.pairs.needs_calibration
    holder.calibrate_pairs(holder.student, holder.student, in_channels=2)
    (teacher, t_in), (student, s_in, training, grad) = seen
    assert torch.equal(t_in, torch.zeros(1, 3, 5, 7))
    assert torch.equal(s_in, torch.zeros(1, 2, 5, 7)) and not training and not grad
    projector = holder.pairs.projectors['a']
    assert (projector.in_channels, projector.out_channels) == (6, 4)  # teacher -> student
    assert holder.student.training and holder.student[0].training
    holder.calibrate_pairs(holder.student, holder.student, in_channels=2)
    assert len(seen) == 2  # built: no second dry run
    x = torch.randn(2, 3, 5, 7)
    features = holder.teacher_features(x)
    torch.testing.assert_close(features['t'][holder.pairs.specs[0].teacher_key],
                               holder.teachers['t'].network[0](x), rtol=0, atol=0)

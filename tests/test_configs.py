"""Every config under configs/ builds and takes one training step on the CPU, offline.

The configs are globbed (every ``configs/**/*.py`` outside a ``_base_`` folder), so a
new config is covered without touching this file; so is every teacher base of
``configs/_base_/teachers/``, composed with the MobileNetV2 depth student and FitNets
(inverted) the way the depth table configs compose them. A step is the Runner's: the
student's data preprocessor, ``model(mode='loss')`` on a batch of 2 random images
with both a depth map (``gt_depth_map``, depth students) and a label map
(``gt_sem_seg``, segmentation students), ``parse_losses``, ``backward``. The images
are 64 x 64 (the depth students' stride-32 maps are then 2 x 2), 32 x 32 for
``EncoderDecoder`` students (MMSeg's DeepLabV3-R50-D8: 4 x 4 maps at stride 8); a ViT
teacher still sees 224 x 224 (``teacher_input_size``). The image-translation GANs
(``configs/translation``) take their own step, ``train_step`` on 2 random uint8 image
pairs with the ``OptimWrapperDict`` their ``optim_wrapper`` config builds (both
optimizers step, the projectors with the generators): 256 x 256 for Pix2Pix (its
``unet_256`` needs it), 64 x 64 for CycleGAN.

Test-only changes, each logged by :func:`offline` / :func:`fast` and printed with
``-s`` (the configs themselves are untouched):

* weights this machine does not have: torchvision ``weights`` -> None (and
  ``weights_backbone`` -> None for the segmentation models, which would otherwise
  fetch ImageNet backbone weights), timm / TIMMBackbone ``pretrained`` -> False,
  ``teacher_ckpt`` / ``checkpoint`` / ``pretrained`` paths that are not local files ->
  None, ``init_cfg=dict(type='Pretrained', ...)`` with a non-local checkpoint -> None,
  ``cfg_path`` teachers: ``pretrained`` -> False and ``backbone.init_cfg`` -> None.
  Local files (the demo's MobileNetV2 weights in ../shared) are kept;
* speed: ``infer_input_size`` (the projector-channel dry run, of a distiller or a
  GAN) and a preprocessor's
  fixed pad ``size`` -> the step's image size, AiTSwinV2 windows (30, 30, 30, 15)
  -> (4, 4, 4, 2): a 64 x 64 input padded to 30 x 30-token windows costs ~13 s per
  SwinV2-B forward on 2 CPU cores (channels, depths and hook names are unchanged);
  ``init_weights()`` is not called (the models keep their constructors' PyTorch
  initialisation: MMEngine's initialisation bookkeeping alone costs ~7 s for a
  ResNet-50 student, and the pretrained-weight entries it would load are off anyway).
* parsing: the metafiles MMEngine reads for every ``mmseg::`` base (~1.5 s per config)
  are read once, and each config is parsed once for all tests;
* threads: one intra-op thread while the module runs (restored after);
* sharing: one teacher instance per distinct (overridden) teacher config, and the
  hooked teacher features of an identical input are computed once per teacher and
  hooked modules (the teacher is frozen and deterministic in eval mode). The student,
  projectors and losses of every config are built and stepped for real.
"""
import copy
import functools
import glob
import hashlib
import inspect
import math
import os.path as osp

import mmengine.config.utils
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmengine.utils import import_modules_from_strings
from mmseg.structures import SegDataSample

import mmkd_invproj  # noqa: F401  (registers the package's modules)
from mmkd_invproj.distillers.cross_task_distiller import CrossTaskDistiller
from mmkd_invproj.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmkd_invproj.teachers import FrozenTeacher
from mmkd_invproj.translation import BaseTranslationModel
from mmkd_invproj.students.depth_decoders import DEPTH_DECODERS
from mmkd_invproj.utils.config_check import check_config

from .conftest import REPO

CONFIG_ROOT = osp.join(REPO, 'configs')
CONFIGS = sorted(osp.relpath(p, CONFIG_ROOT)
                 for p in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
                 if '_base_' not in osp.relpath(p, CONFIG_ROOT).split(osp.sep))
TEACHER_BASES = sorted(osp.basename(p) for p in
                       glob.glob(osp.join(CONFIG_ROOT, '_base_', 'teachers', '*.py')))
SIZE = (64, 64)
#: smaller steps for students whose deepest map has a stride below 32
SIZES = {'EncoderDecoder': (32, 32), 'Pix2Pix': (256, 256), 'CycleGAN': (64, 64)}
#: the models that train through ``train_step`` with an ``OptimWrapperDict``
GANS = ('Pix2Pix', 'CycleGAN')
BATCH = 2
AIT_TEST_WINDOWS = (4, 4, 4, 2)

# a table config written the way configs/_base_/depth_kd/*.py + configs/depth/*.py are
TEACHER_PROBE = """
_base_ = ['{root}/depth/mbv2_baseline.py', '{root}/_base_/teachers/{teacher}',
          '{root}/_base_/distill/fitnets_inv.py']
model = dict(_delete_=True, type='CrossTaskDistiller', student=_base_.model,
             **_base_.kd_teacher, distill_pairs=[dict(
                 name='enc', student='backbone', student_index=-1,
                 **_base_.kd_teacher_feature, **_base_.kd_method)])
"""


# ---------------------------------------------------------------------- overrides
def _torchvision_weights_cached(model_name, weights):
    import torchvision
    enum = torchvision.models.get_model_weights(model_name)
    w = enum.DEFAULT if weights == 'DEFAULT' else enum[weights]
    return osp.isfile(osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(w.url)))


def _has_param(model_name, param):
    import torchvision
    return param in inspect.signature(torchvision.models.get_model_builder(model_name)).parameters


def _not_local(value):
    return isinstance(value, str) and bool(value) and not osp.isfile(value)


def offline(cfg, log, path='model'):
    """A copy of a model config with the weights this machine lacks switched off.

    Args:
        cfg: A (nested) model config.
        log (list[str]): Receives one ``'<path>: <what> -> <new>'`` line per override.
        path (str): Dotted location of ``cfg``, for the log.

    Returns:
        The overridden copy.
    """
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(offline(c, log, f'{path}[{i}]') for i, c in enumerate(cfg))
    if not isinstance(cfg, dict):
        return cfg
    cfg = {k: offline(v, log, f'{path}.{k}') for k, v in cfg.items()}

    def override(key, value):
        log.append(f'{path}.{key}: {cfg.get(key)!r} -> {value!r}')
        cfg[key] = value

    kind = cfg.get('type')
    if kind == 'TorchvisionTeacher':
        if cfg.get('weights') and not _torchvision_weights_cached(cfg['model_name'],
                                                                  cfg['weights']):
            override('weights', None)
        if (cfg.get('weights') is None and cfg.get('weights_backbone', 1) is not None
                and _has_param(cfg['model_name'], 'weights_backbone')):
            override('weights_backbone', None)
    if kind in ('TimmTeacher', 'TIMMBackbone') and cfg.get('pretrained', kind == 'TIMMBackbone'):
        override('pretrained', False)  # TIMMBackbone's default is True
    if 'cfg_path' in cfg and cfg.get('pretrained') and not osp.isfile(str(cfg['pretrained'])):
        override('pretrained', False)
        override('backbone', dict(cfg.get('backbone', {}), init_cfg=None))
    for key in ('teacher_ckpt', 'checkpoint', 'checkpoint_path'):
        if _not_local(cfg.get(key)) and cfg.get('type') != 'Pretrained':
            override(key, None if key != 'checkpoint_path' else '')
    if _not_local(cfg.get('pretrained')):
        override('pretrained', None)
    init_cfg = cfg.get('init_cfg')
    if (isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained'
            and _not_local(init_cfg.get('checkpoint'))):
        override('init_cfg', None)
    return cfg


def fast(cfg, log, size, path='model'):
    """A copy of a model config with the test-only speed-ups of the module docstring."""
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(fast(c, log, size, f'{path}[{i}]') for i, c in enumerate(cfg))
    if not isinstance(cfg, dict):
        return cfg
    cfg = {k: fast(v, log, size, f'{path}.{k}') for k, v in cfg.items()}
    kind = cfg.get('type')
    changes = {}
    if kind == 'CrossTaskDistiller' or kind in GANS:
        changes['infer_input_size'] = size
    if kind == 'SegDataPreProcessor' and cfg.get('size') is not None:
        changes['size'] = size
    if kind == 'AiTSwinV2':
        changes['window_size'] = AIT_TEST_WINDOWS
    for key, value in changes.items():
        log.append(f'{path}.{key}: {cfg.get(key)!r} -> {value!r}')
        cfg[key] = value
    return cfg


# ---------------------------------------------------------------------- sharing
_PARSED = {}


def parse(path):
    """``Config.fromfile(path)``, once per path."""
    if path not in _PARSED:
        _PARSED[path] = Config.fromfile(path)
    return _PARSED[path]


@pytest.fixture(scope='module', autouse=True)
def shared_teachers():
    """One teacher per teacher config, one teacher forward per (teacher, input), and
    MMEngine's package metafiles (YAML) read once."""
    teachers, features = {}, {}
    real_load = mmengine.config.utils.load
    cached_load = functools.lru_cache(maxsize=None)(real_load)

    def load(file, *args, **kwargs):
        if isinstance(file, str) and file.endswith(('.yml', '.yaml')) and not (args or kwargs):
            return cached_load(file)  # package metafiles; read-only for the caller
        return real_load(file, *args, **kwargs)

    build, forward = FrozenTeacher._build, FrozenTeacher.forward

    def cached_build(cfg, seed):  # one network per teacher config
        key = repr((cfg, seed))
        if key not in teachers:
            teachers[key] = build(cfg, seed)
        return teachers[key]

    def cached_forward(self, inputs):  # one forward per (network, features, input)
        key = (id(self.network), tuple(self.watched), self.method, self.input_size,
               repr(self.norm), tuple(inputs.shape),
               hashlib.sha1(inputs.detach().contiguous().numpy().tobytes()).hexdigest())
        if key not in features:
            features[key] = forward(self, inputs)
        return dict(features[key])

    # one intra-op thread: these tiny steps gain nothing from two, and when other jobs
    # share the CPU the OpenMP workers spin-wait (up to ~50x slower convolutions)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    mp = pytest.MonkeyPatch()
    mp.setattr(FrozenTeacher, '_build', staticmethod(cached_build))
    mp.setattr(FrozenTeacher, 'forward', cached_forward)
    mp.setattr(mmengine.config.utils, 'load', load)
    yield teachers
    mp.undo()
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------- one step
def _find(cfg, key):
    """Every value of ``key`` anywhere in a nested config."""
    if isinstance(cfg, dict):
        found = [cfg[key]] if key in cfg else []
        return found + [v for c in cfg.values() for v in _find(c, key)]
    if isinstance(cfg, (list, tuple)):
        return [v for c in cfg for v in _find(c, key)]
    return []


def _batch(num_classes, size):
    """BATCH raw samples: uint8 BGR images, depth in metres and labels, for any student."""
    g = torch.Generator().manual_seed(0)
    h, w = size
    inputs, samples = [], []
    for _ in range(BATCH):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8))
        sample = SegDataSample(metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size,
                                             scale_factor=(1.0, 1.0), flip=False))
        sample.gt_depth_map = PixelData(data=0.5 + 9 * torch.rand(1, h, w, generator=g))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, h, w), generator=g, dtype=torch.long))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def build_and_step(cfg: Config):
    """Build ``cfg.model`` as the Runner does and run one training step.

    Returns:
        tuple: (model, loss dict (the logged variables of a GAN's ``train_step``),
        list of overrides, (H, W) of the images).
    """
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = cfg.to_dict()['model']
    student_type = model_cfg.get('student', model_cfg)['type']
    size = SIZES.get(student_type, SIZE)
    log = []
    model_cfg = fast(offline(model_cfg, log), log, size)
    num_classes = min([n for n in _find(model_cfg, 'num_classes') if isinstance(n, int)] + [2])
    torch.manual_seed(0)
    model = MODELS.build(ConfigDict(model_cfg))
    model.train()
    if isinstance(model, BaseTranslationModel):
        return model, _gan_step(model, cfg, size), log, size
    data = model.data_preprocessor(_batch(num_classes, size), training=True)
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    total.backward()
    return model, losses, log, size


def _gan_step(model: BaseTranslationModel, cfg: Config, size) -> dict:
    """One ``train_step`` with the config's own ``OptimWrapperDict``; the trainable
    parameters before it are kept in ``model._before_step`` for :func:`_check_step`."""
    optim_cfg = cfg.optim_wrapper.to_dict()
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=optim_cfg.pop('constructor'), optim_wrapper_cfg=optim_cfg))
    optim = constructor(model)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (2, BATCH, 3, *size), generator=g, dtype=torch.uint8)
    model._before_step = {n: p.detach().clone() for n, p in model.named_parameters()
                          if p.requires_grad}
    return model.train_step(dict(inputs=dict(A=list(images[0]), B=list(images[1]))), optim)


def _check_gan_step(model: BaseTranslationModel, log_vars: dict) -> None:
    assert {'loss_G', 'loss_D'} <= set(log_vars)
    assert all(torch.isfinite(v) for v in log_vars.values()), log_vars
    names = sorted(f'loss_distill_{p.name}' for p in model.pairs.specs)
    assert sorted(k for k in log_vars if k.startswith('loss_distill_')) == names
    # both optimizers stepped: every generator, discriminator and projector moved
    now = dict(model.named_parameters())
    groups = ['generators.', 'discriminators.'] + (
        ['pairs.projectors.'] if len(model.pairs.projectors) else [])
    for prefix in groups:
        moved = [not torch.equal(before, now[n]) for n, before in model._before_step.items()
                 if n.startswith(prefix)]
        assert moved and all(moved), prefix
    assert all(not p.requires_grad for p in model.teachers.parameters())


def _check_step(model, losses):
    if isinstance(model, BaseTranslationModel):
        _check_gan_step(model, losses)
        return
    flat = {k: v for k, v in losses.items() if 'loss' in k}
    assert flat, f'no loss terms in {sorted(losses)}'
    for k, v in flat.items():
        values = v if isinstance(v, (list, tuple)) else [v]
        assert all(torch.isfinite(x).all() for x in values), (k, v)
    student = getattr(model, 'student', model)
    grads = [p.grad for p in student.parameters() if p.requires_grad and p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads), 'the student got no gradient'
    assert all(torch.isfinite(g).all() for g in grads)
    if isinstance(model, CrossTaskDistiller):
        names = sorted(f'loss_distill_{p.name}' for p in model.pairs.specs)
        assert sorted(k for k in losses if k.startswith('loss_distill_')) == names
        for name, proj in model.pairs.projectors.items():
            for p in proj.parameters():
                assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert all(p.grad is None for p in model.teachers.parameters())


def _cleanup(model):
    if isinstance(model, (CrossTaskDistiller, BaseTranslationModel)):
        model.pairs.remove_hooks()
        for teacher in model.teachers.values():
            teacher.remove_hooks()  # the network is shared with later configs


@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds_and_steps(config):
    cfg = parse(osp.join(CONFIG_ROOT, config))
    check_config(cfg)  # the tools' start-up check passes every shipped config
    model, losses, log, _ = build_and_step(cfg)
    try:
        print(f'\n{config}: ' + ('; '.join(log) or 'no override'))
        _check_step(model, losses)
    finally:
        _cleanup(model)


@pytest.mark.parametrize('teacher', TEACHER_BASES)
def test_teacher_base_composes_with_a_student(teacher, tmp_path):
    path = tmp_path / f'probe_{teacher}'
    path.write_text(TEACHER_PROBE.format(root=CONFIG_ROOT, teacher=teacher))
    cfg = parse(str(path))
    model, losses, log, size = build_and_step(cfg)
    try:
        print(f'\nteacher {teacher}: ' + ('; '.join(log) or 'no override'))
        _check_step(model, losses)
        # the logged FitNets term is the mean squared error of the projected pair
        # (the same batch again: train-mode BatchNorm, no optimizer step in between)
        num_classes = min([n for n in _find(cfg.to_dict()['model'], 'num_classes')
                           if isinstance(n, int)] + [2])
        data = model.data_preprocessor(_batch(num_classes, size), training=True)
        _, outputs = model.pair_outputs(data['inputs'], data['data_samples'])
        pred, target, _ = outputs['enc']
        assert math.isclose(losses['loss_distill_enc'].item(),
                            torch.mean((pred - target) ** 2).item(), rel_tol=1e-5)
    finally:
        _cleanup(model)


def test_table_configs_follow_the_naming_scheme():
    """Tables 4-7: 4 teachers x 4 methods x 2 projections; Table 8: 2 students x 3 x 2."""
    depth = {c[len('depth/'):-3] for c in CONFIGS if c.startswith('depth/')}
    expected = {f'mbv2_{t}_{m}_{p}' for t in ('depth', 'insseg', 'cls', 'random')
                for m in ('fitnets', 'at', 'pkt', 'ensemble') for p in ('inv', 'trad')}
    expected |= {f'{s}_cls_{m}_{p}' for s in ('effb0', 'r50') for m in ('fitnets', 'at', 'pkt')
                 for p in ('inv', 'trad')}
    assert len(expected) == 44 and expected <= depth
    for name in sorted(expected):
        model = parse(osp.join(CONFIG_ROOT, 'depth', name + '.py')).model
        student, teacher, method, proj = name.split('_')
        pair, = model.distill_pairs
        side = pair.projector.get('projector', pair.projector)['type']
        assert side == {'inv': 'InvertedProjector', 'trad': 'TraditionalProjector'}[proj]
        assert (pair.projector.type == 'EnsembleProjector') == (method == 'ensemble')
        loss = {'fitnets': 'FitNetsLoss', 'ensemble': 'FitNetsLoss', 'at': 'ATLoss',
                'pkt': 'PKTLoss'}[method]
        assert pair.loss == dict(type=loss, loss_weight=1.0)
        backbone = model.student.backbone
        assert backbone.get('model_name', backbone.type) == {
            'mbv2': 'MobileNetV2', 'effb0': 'efficientnet_b0', 'r50': 'resnet50'}[student]
        kind = model.teacher.type
        assert kind == ('AiTSwinV2' if teacher in ('depth', 'insseg') else 'TorchvisionTeacher')
        assert (model.get('teacher_seed') is not None) == (teacher == 'random')


def _num_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('student', ['mbv2', 'effb0', 'r50'])
def test_depth_students_take_every_decoder(student):
    """Each encoder base (supplementary 6.3.1) builds with each decoder; the encoder is
    the classifier network without its head (independent torchvision / timm builds)."""
    import timm
    import torchvision
    init_default_scope('mmseg')
    cfg = parse(osp.join(CONFIG_ROOT, '_base_', 'models', f'{student}_depth.py'))
    if student == 'mbv2':  # torchvision's MobileNetV2-0.5 without the last 1x1 conv
        reference = _num_params(torchvision.models.mobilenet_v2(width_mult=0.5).features[:-1])
    else:
        full = timm.create_model(cfg.model.backbone.model_name, pretrained=False)
        head = [full.get_classifier()] + [getattr(full, n) for n in ('conv_head', 'bn2')
                                           if student == 'effb0']
        reference = _num_params(full) - sum(map(_num_params, head))
    for decoder in DEPTH_DECODERS:
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.decode_head.decoder = decoder
        model = MODELS.build(model_cfg)
        assert _num_params(model.backbone) == reference
        with torch.no_grad():
            depth = model(torch.zeros(1, 3, *SIZE), mode='tensor')
        stride = 4 if decoder == 'ULightDecoder_skip_4b' else 1
        assert depth.shape == (1, 1, SIZE[0] // stride, SIZE[1] // stride), decoder


@pytest.mark.parametrize('demo,data,val_data', [
    ('depth/mbv2_cls_teacher_inv_demo.py', 'nyu_mini', 'nyu_mini'),
    ('seg/deeplabv3_r50_cls_teacher_inv_demo.py', 'ade_mini', 'ade_mini'),
    ('translation/pix2pix_colorization_demo.py', 'raw', 'nyu_mini/images'),
    ('translation/cyclegan_colorization_demo.py', 'raw', 'nyu_mini/images')])
def test_demo_data_location_follows_mmkd_shared(demo, data, val_data, monkeypatch, tmp_path):
    """The demos read ``shared/`` beside the checkout, or ``$MMKD_SHARED`` when set."""
    path = osp.join(CONFIG_ROOT, demo)
    monkeypatch.delenv('MMKD_SHARED', raising=False)
    cfg = Config.fromfile(path)
    assert osp.normpath(cfg.train_dataloader.dataset.data_root) == osp.normpath(
        osp.join(REPO, '..', 'shared', 'data', data))
    monkeypatch.setenv('MMKD_SHARED', str(tmp_path))
    cfg = Config.fromfile(path)
    assert cfg.train_dataloader.dataset.data_root == f'{tmp_path}/data/{data}'
    assert cfg.val_dataloader.dataset.data_root == f'{tmp_path}/data/{val_data}'
    if cfg.model.get('teacher_ckpt'):  # the translation demos train without a teacher
        assert cfg.model.teacher_ckpt == f'{tmp_path}/weights/mobilenet_v2-b0353104.pth'

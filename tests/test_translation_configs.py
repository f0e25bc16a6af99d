"""The configs of configs/translation: the baselines build and take one training step
through their own optimizer config; every distilled config names a student module that
exists, in the generator its distillation position records; the table is complete;
the demos follow MMKD_SHARED."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmkd_invproj  # noqa: F401
from mmkd_invproj.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmkd_invproj.translation import NetworkDict
from mmkd_invproj.translation.cyclegan import DISTILL_POSITIONS, _check_pair_students

from .conftest import REPO

ROOT = osp.join(REPO, 'configs', 'translation')
CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(ROOT, '*.py')))


def parse(name):
    return Config.fromfile(osp.join(ROOT, name))


def is_distilled(cfg):
    return bool(cfg.model.get('teacher') or cfg.model.get('distill_pairs'))


@pytest.mark.parametrize('name', ['pix2pix_facades_colorization.py',
                                  'pix2pix_facades_colorization_lab.py', 'cyclegan_maps.py'])
def test_baseline_builds_and_steps(name):
    cfg = parse(name)
    size = 256 if cfg.model.type == 'Pix2Pix' else 64  # unet_256 needs 256 x 256
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (2, 2, 3, size, size), generator=g, dtype=torch.uint8)
    data = dict(inputs=dict(A=list(images[0]), B=list(images[1])), data_samples=None)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with DefaultScope.overwrite_default_scope('mmseg'):
            torch.manual_seed(0)
            model = MODELS.build(cfg.model).train()
            optim_cfg = cfg.optim_wrapper.to_dict()
            constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
                dict(type=optim_cfg.pop('constructor'), optim_wrapper_cfg=optim_cfg))
            optim = constructor(model)
            log = model.train_step(data, optim)
            pred = model.val_step(data)
    finally:
        torch.set_num_threads(threads)
    assert all(torch.isfinite(v) for v in log.values())
    assert {'loss_G', 'loss_D'} <= set(log)
    assert optim['generators'].optimizer.param_groups[0]['betas'] == (0.5, 0.999)
    assert pred[0].pred_img.shape == (3, size, size) and pred[0].pred_img.dtype == torch.uint8


DISTILLED = [c for c in CONFIGS if 'fitnets' in c or 'table10' in c]


@pytest.mark.parametrize('name', DISTILLED)
def test_distilled_config_names_a_module_of_the_distilled_generator(name):
    cfg = parse(name)
    model = cfg.model
    assert model.teacher['model']['type'] in ('TorchvisionTeacher', 'AiTSwinV2')
    (pair,) = model.distill_pairs
    assert pair['name'] == 'enc' and pair['loss']['type'] == 'FitNetsLoss'
    projector = 'TraditionalProjector' if name.endswith('_trad.py') else 'InvertedProjector'
    assert pair['projector']['type'] == projector
    if model.type == 'CycleGAN':
        _check_pair_students([pair], model.distill_position)
        names = ('G_A', 'G_B')
        generator = dict(model.generator, ngf=1)
        expected = DISTILL_POSITIONS[model.distill_position][0]
        assert pair['student'] == f'{expected}.model.18'
        assert model.distill_position == ('forward' if name.endswith('_forward.py') else 'cycle')
    else:
        names, generator = ('G',), dict(model.generator, ngf=1)
    generators = NetworkDict({n: MODELS.build(generator) for n in names})
    assert pair['student'] in dict(generators.named_modules())


def test_every_teacher_and_table_10_row_has_a_config():
    teachers = ('cls', 'depth', 'insseg', 'random')
    expected = {f'pix2pix_facades_colorization_{t}_fitnets_{p}.py'
                for t in teachers for p in ('inv', 'trad')}
    expected |= {f'cyclegan_maps_{t}_fitnets_{p}.py' for t in teachers for p in ('inv', 'trad')}
    expected |= {f'cyclegan_maps_table10_{t}_{z}.py' for t in ('keypoint', 'cls')
                 for z in ('cycle', 'forward')}
    assert set(DISTILLED) == expected
    assert not any(is_distilled(parse(c)) for c in set(CONFIGS) - expected)


@pytest.mark.parametrize('demo', ['pix2pix_colorization_demo.py',
                                  'cyclegan_colorization_demo.py'])
def test_demo_data_location_follows_mmkd_shared(demo, monkeypatch, tmp_path):
    monkeypatch.delenv('MMKD_SHARED', raising=False)
    cfg = parse(demo)
    assert osp.normpath(cfg.train_dataloader.dataset.data_root) == osp.normpath(
        osp.join(REPO, '..', 'shared', 'data', 'raw'))
    monkeypatch.setenv('MMKD_SHARED', str(tmp_path))
    cfg = parse(demo)
    assert cfg.val_dataloader.dataset.data_root == f'{tmp_path}/data/nyu_mini/images'

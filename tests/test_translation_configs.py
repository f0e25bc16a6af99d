"""The configs of configs/translation (tests/test_configs.py builds each and takes one
training step): every distilled config names a student module that exists, in the
generator its distillation position records, with the teacher bases of
configs/_base_/teachers and the normalisation each teacher network expects; the table
is complete; the demos follow MMKD_SHARED."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

import mmkd_invproj  # noqa: F401
from mmkd_invproj.registry import MODELS
from mmkd_invproj.translation import NetworkDict
from mmkd_invproj.translation.cyclegan import DISTILL_POSITIONS, _check_pair_students

from .conftest import REPO

ROOT = osp.join(REPO, 'configs', 'translation')
CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(ROOT, '*.py')))


def parse(name):
    return Config.fromfile(osp.join(ROOT, name))


def is_distilled(cfg):
    return bool(cfg.model.get('teacher') or cfg.model.get('distill_pairs'))


IMAGENET = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
RGB_OVER_255 = dict(mean=[0., 0., 0.], std=[255., 255., 255.])  # AiT's depth pipeline
DISTILLED = [c for c in CONFIGS if 'fitnets' in c or 'table10' in c]


@pytest.mark.parametrize('name', DISTILLED)
def test_distilled_config_names_a_module_of_the_distilled_generator(name):
    cfg = parse(name)
    model = cfg.model
    # the network config under `teacher`, its options as teacher_* keys (CrossTaskDistiller's)
    kind = model.teacher.get('model_name', model.teacher['type'])
    assert kind == ('keypointrcnn_resnet50_fpn' if 'keypoint' in name else
                    'AiTSwinV2' if ('depth' in name or 'insseg' in name) else 'vit_b_16')
    # the GAN input is in [-1, 1]: each teacher is renormalised to its own training input
    assert model.teacher_norm == (RGB_OVER_255 if 'depth' in name else IMAGENET)
    assert (model.get('teacher_seed') is not None) == ('random' in name)
    assert model.get('teacher_method', 'forward') == ('backbone' if 'keypoint' in name
                                                      else 'forward')
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

"""The README's "Add cross-task distillation to your own MMSeg config" lines, applied as
they are to a config shipped with MMSegmentation, built and trained two iterations on
the real ade_mini pairs. README.md is the source of truth: the snippet is read from it."""
import math
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from .conftest import REPO
from .seg_utils import tiny_ade_cfg

BEGIN, END = '<!-- snippet:user-config -->', '<!-- /snippet:user-config -->'
# a light ADE20K config of MMSeg (DeepLabV3, MobileNetV2-D8, 150 classes)
MMSEG_CONFIG = ('mobilenet_v2', 'mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py')


def readme_snippet(text: str) -> str:
    """The Python code of the fenced block between the snippet markers."""
    if BEGIN not in text or END not in text:
        pytest.fail(f'README.md has no user-config snippet: the section "Add cross-task '
                    f'distillation to your own MMSeg config" must wrap its ```python block '
                    f'in {BEGIN} ... {END}')
    section = text.split(BEGIN, 1)[1].split(END, 1)[0]
    blocks = re.findall(r'```python\n(.*?)```', section, flags=re.S)
    assert len(blocks) == 1, f'expected one ```python block between the markers, got {blocks}'
    return blocks[0]


def apply_to(snippet: str, base_config: str) -> str:
    """The snippet with its `_base_` line pointing at ``base_config`` (every other line
    as written)."""
    lines = snippet.splitlines()
    base = [i for i, line in enumerate(lines) if line.startswith('_base_ = ')]
    assert len(base) == 1, f'the snippet must have one `_base_ = ...` line: {lines}'
    lines[base[0]] = f'_base_ = [{base_config!r}]'
    return '\n'.join(lines) + '\n'


@pytest.fixture(scope='module')
def snippet():
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        return readme_snippet(f.read())


@pytest.fixture(scope='module')
def mmseg_config():
    import mmseg
    path = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', *MMSEG_CONFIG)
    assert osp.isfile(path), path
    return path


def test_snippet_wraps_the_untouched_mmseg_model(snippet, mmseg_config, tmp_path):
    child = tmp_path / 'my_distill_config.py'
    child.write_text(apply_to(snippet, mmseg_config))
    cfg = Config.fromfile(str(child))
    assert cfg.model.type == 'CrossTaskDistiller'
    assert cfg.model.student == Config.fromfile(mmseg_config).model
    assert 'mmkd_invproj' in cfg.custom_imports.imports
    assert [p.name for p in cfg.model.distill_pairs] == ['enc']


def test_snippet_trains_two_iterations(snippet, mmseg_config, tmp_path, shared_dir):
    child = tmp_path / 'my_distill_config.py'
    child.write_text(apply_to(snippet, mmseg_config))
    cfg = Config.fromfile(str(child))
    if 'weights' in cfg.model.teacher:  # offline: the same architecture, random init
        cfg.model.teacher.weights = None
    cfg = tiny_ade_cfg(cfg, str(tmp_path / 'work'), crop=64, iters=2)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    hub = runner.message_hub
    for key in ('train/loss_distill_enc', 'train/decode.loss_ce'):
        value = hub.get_scalar(key).current()
        assert math.isfinite(value) and value > 0, (key, value)
    # MobileNetV2-D8's last stage (320 channels, stride 8) <- ResNet-50 layer4 (2048)
    proj = runner.model.pairs.projectors['enc']
    assert (proj.in_channels, proj.out_channels) == (2048, 320)

"""The translation demos through tools/train.py on the real photos, kept short (narrow
networks, 2 training images, 2 + 1 epochs): they validate PSNR (reproduced from the saved
translations), save the translations, resume from their checkpoint, and export
generators that load strictly."""
import glob
import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mmkd_invproj.registry import MODELS
from mmkd_invproj.translation import NetworkDict, psnr

from .conftest import REPO, run_tool

DEMOS = {
    'pix2pix': ('configs/translation/pix2pix_colorization_demo.py', ['G']),
    'cyclegan': ('configs/translation/cyclegan_colorization_demo.py', ['G_A', 'G_B']),
}
SHORT = ['model.generator.ngf=16', 'model.discriminator.ndf=16',
         'train_dataloader.dataset.indices=2', 'train_cfg.val_interval=1',
         'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1']


def run(args):
    """``python <args>`` as run_tool runs it, checked; its log (stdout + stderr)."""
    proc = run_tool(args[0][len('tools/'):], *args[1:], timeout=900, check=True)
    return proc.stdout + proc.stderr


def strips_psnr(work_dir, epoch):
    """Mean PSNR of the saved input | translation | target strips of one validation."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'vis_image',
                                      f'translation_*_{epoch}.png')))
    values = []
    for f in files:
        strip = np.asarray(Image.open(f).convert('RGB'))
        w = strip.shape[1] // 3
        values.append(psnr(strip[:, w:2 * w], strip[:, 2 * w:]))
    return files, float(np.mean(values))


@pytest.mark.parametrize('demo', sorted(DEMOS))
def test_demo_trains_validates_resumes_and_exports(tmp_path, shared_dir, demo):
    config, generators = DEMOS[demo]
    work_dir = str(tmp_path / 'work')
    log = run(['tools/train.py', config, '--work-dir', work_dir, '--cfg-options',
               'train_cfg.max_epochs=2', *SHORT])
    val = re.findall(r'Epoch\(val\) \[2\]\[3/3\]\s+PSNR: ([0-9.]+)', log)
    assert len(val) == 1, log[-3000:]
    files, reproduced = strips_psnr(work_dir, 2)
    assert len(files) == 3  # the 3 held-out real frames
    assert float(val[0]) == pytest.approx(reproduced, abs=1e-4)
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))

    log = run(['tools/train.py', config, '--work-dir', work_dir, '--resume', '--cfg-options',
               'train_cfg.max_epochs=3', *SHORT])
    assert 'resumed epoch: 2, iter: 4' in log
    assert 'Epoch(train) [1]' not in log and 'Epoch(train) [3][2/2]' in log
    assert re.search(r'Epoch\(val\) \[3\]\[3/3\]\s+PSNR: [0-9.]+', log)
    ckpt = osp.join(work_dir, 'epoch_3.pth')

    gen_cfg = dict(Config.fromfile(osp.join(REPO, config)).model.generator, ngf=16)
    state = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    for name in generators:
        out = str(tmp_path / f'{name}.pth')
        run(['tools/model_converters/export_student.py', ckpt, out, '--generator', name])
        exported = torch.load(out, map_location='cpu')['state_dict']
        net = MODELS.build(gen_cfg)
        net.load_state_dict(exported, strict=True)
        for key, value in net.state_dict().items():
            assert torch.equal(value, state[f'generators.{name}.{key}'])
    if len(generators) > 1:  # without --generator: all of them, keyed by name
        out = str(tmp_path / 'all.pth')
        run(['tools/model_converters/export_student.py', ckpt, out])
        both = NetworkDict({name: MODELS.build(gen_cfg) for name in generators})
        both.load_state_dict(torch.load(out, map_location='cpu')['state_dict'], strict=True)

"""tools/analysis/benchmark_translation.py's package code: the plain phase is the
package's step (same networks, optimizer and losses), the timing loop rotates the
phases and drops the warm-up, the ratios are the documented quotients (no speed is
asserted here)."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmkd_invproj.translation import benchmark as bench

from .conftest import REPO


@pytest.mark.parametrize('config, size', [
    ('pix2pix_facades_colorization_cls_fitnets_inv.py', 256),
    ('cyclegan_maps_cls_fitnets_inv.py', 32)])
def test_plain_phase_is_the_package_step(config, size):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'translation', config))
    cfg.model.generator.ngf, cfg.model.discriminator.ndf = 4, 4  # small, same structure
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        step = bench.build_models(cfg, size)['step']
        assert not step.pairs.specs and not step.teachers  # the baseline of the config
        g = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (2, 2, 3, size, size), generator=g, dtype=torch.uint8)
        data = dict(inputs=dict(A=list(images[0]), B=list(images[1])))
        inputs = step.data_preprocessor(data, True)['inputs']
        plain = bench.plain_step(cfg, step, inputs)  # copies the networks as they are now
        optim = bench.build_optim(cfg, step)
        for _ in range(2):  # the second step compares the first update too
            torch.manual_seed(1)  # the same dropout masks
            log = step.train_step(data, optim)
            torch.manual_seed(1)
            ref = plain()
    finally:
        torch.set_num_threads(threads)
    assert set(ref) <= set(log)
    for key, value in ref.items():
        assert float(log[key]) == pytest.approx(value.item(), rel=1e-4), key


def test_ratios_and_report():
    times = dict(plain=[1.0, 2.0, 3.0], step=[2.1, 2.0, 2.2], teacher=[1.0, 1.0, 1.0],
                 distill=[3.3, 3.0, 3.1])
    assert bench.ratios(dict(plain=2.0, step=2.1, teacher=1.0, distill=3.1)) == \
        pytest.approx(dict(step=1.05, overhead=1.0))
    text = bench.report('x', times)
    assert text.splitlines()[-1] == 'x: step = 1.050, overhead = 1.000'
    assert '  plain          2000     1500     2500' in text


def test_build_optim_is_build_optim_wrapper_and_takes_paramwise_cfg():
    """The config's optim_wrapper as a Runner builds it: a paramwise_cfg beside the
    groups applies to each group (the constructor used to get it inside the wrapper
    config and fail with a TypeError)."""
    from mmkd_invproj.translation import Pix2Pix, UnetGenerator

    from .test_translation_models import TEACHER, fitnets_pair
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'translation',
                                   'pix2pix_facades_colorization_cls_fitnets_inv.py'))
    cfg.optim_wrapper.paramwise_cfg = dict(custom_keys={'pairs.projectors': dict(lr_mult=0.1)})
    torch.manual_seed(0)
    model = Pix2Pix(dict(type='UnetGenerator', num_downs=5, ngf=8),
                    dict(type='NLayerDiscriminator', in_channels=6, ndf=8), **TEACHER,
                    infer_input_size=(32, 32), distill_pairs=[
                        fitnets_pair('G.' + UnetGenerator(num_downs=5).encoder_output)])
    optim = bench.build_optim(cfg, model)
    lr_g = cfg.optim_wrapper.generators.optimizer.lr
    lr_d = cfg.optim_wrapper.discriminators.optimizer.lr
    lr = {id(p): g['lr'] for w in optim.values() for g in w.optimizer.param_groups
          for p in g['params']}
    projector = model.pairs.projectors['enc'].proj.weight
    assert lr[id(projector)] == pytest.approx(0.1 * lr_g)
    assert {lr[id(p)] for p in model.generators.parameters()} == {lr_g}
    assert {lr[id(p)] for p in model.discriminators.parameters()} == {lr_d}


def test_machine_header_is_the_machine_description_and_the_load():
    from mmkd_invproj.analysis.timing import machine_description
    header = bench.machine_header()
    description = machine_description(torch.device('cpu'))
    assert header.startswith(description + '; load average 1 / 5 / 15 min: ')
    assert re.fullmatch(r'(\d+\.\d\d, \d+\.\d\d, \d+\.\d\d|unknown)',
                        header[len(description + '; load average 1 / 5 / 15 min: '):])


def test_profile_prints_no_kineto_gpu_probe_line():
    """tools/analysis/benchmark_translation.py --profile on a machine without a GPU:
    the operator tables, without kineto's ``gpuGetDeviceCount failed`` log line."""
    code = ('import importlib.util, torch\n'
            'spec = importlib.util.spec_from_file_location(\n'
            '    "bt", "tools/analysis/benchmark_translation.py")\n'
            'module = importlib.util.module_from_spec(spec)\n'
            'spec.loader.exec_module(module)\n'
            'x = torch.ones(64, 64)\n'
            'module.profile(dict(plain=lambda: x @ x, step=lambda: x + x), rows=3)\n')
    env = {k: v for k, v in os.environ.items() if k != 'KINETO_LOG_LEVEL'}
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '--- profile of one plain call' in proc.stdout
    assert '--- profile of one step call' in proc.stdout
    if not torch.cuda.is_available():
        assert 'gpuGetDeviceCount' not in proc.stdout + proc.stderr

"""tools/analysis/benchmark_translation.py's package code: the plain phase is the
package's step (same networks, optimizer and losses), the timing loop rotates the
phases and drops the warm-up, the ratios are the documented quotients (no speed is
asserted here)."""
import os.path as osp

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

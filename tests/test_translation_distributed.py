"""Pix2Pix and CycleGAN on two gloo processes through tools/dist_train.sh, plain and
distilled: every network group, and the distillation pairs with their projector, is its
own DDP module (MMSeparateDistributedDataParallel) and the replicas stay identical
although each rank trains on other images."""
import json
import os
import os.path as osp
import subprocess

import pytest

from .conftest import REPO, free_port


@pytest.mark.parametrize('distill', [False, True])
@pytest.mark.parametrize('model', ['pix2pix', 'cyclegan'])
def test_two_process_gloo_training_keeps_replicas_identical(tmp_path, shared_dir, model,
                                                            distill):
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1', MODEL=model)
    config = f'tests/configs/translation_{"distill_" if distill else ""}rank_probe.py'
    cmd = ['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    reports = [json.load(open(osp.join(tmp_path, f'rank{r}.json'))) for r in (0, 1)]
    for rank, rep in enumerate(reports):
        assert rep['rank'] == rank and rep['world_size'] == 2
        assert rep['iters'] == 4  # 4 images, batch 1, 2 per rank and epoch, 2 epochs
        assert rep['wrapped']['generators'] == 'MMDistributedDataParallel'
        assert rep['wrapped']['discriminators'] == 'MMDistributedDataParallel'
        assert rep['wrapped']['pairs'] == ('MMDistributedDataParallel' if distill
                                           else 'DistillPairs')
        assert rep['wrapped']['teachers'] == 'ModuleDict'  # frozen: not wrapped
    assert ('pairs' in reports[0]['checksums']) == distill  # the projector's parameters
    assert reports[0]['losses'] != reports[1]['losses']  # different images per rank
    assert reports[0]['checksums'] == reports[1]['checksums']  # gradients synchronised

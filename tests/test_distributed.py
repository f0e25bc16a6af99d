"""Two processes on the gloo backend through tools/dist_train.sh (no GPU needed)."""
import json
import os
import os.path as osp
import subprocess
import sys

from .conftest import REPO, free_port


def test_two_process_gloo_training(tmp_path, shared_dir):
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1')
    # the demo config for 2 epochs + a hook writing rank{r}.json (tests/rank_probe.py)
    cmd = ['bash', 'tools/dist_train.sh', 'tests/configs/demo_rank_probe.py', '2',
           '--work-dir', str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    # exit 0 from torchrun: every rank finished and none aborted at teardown
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert 'terminate called' not in proc.stderr
    reports = [json.load(open(osp.join(tmp_path, f'rank{r}.json'))) for r in (0, 1)]
    for r, rep in enumerate(reports):
        assert rep['rank'] == r and rep['world_size'] == 2 and rep['backend'] == 'gloo'
        # 6 training frames, batch 2 per rank -> 2 iterations per epoch per rank
        assert rep['iters'] == 4
    # DDP averages gradients: the logged loss is each rank's own, different batches
    assert reports[0]['losses'] != reports[1]['losses']
    # ... and the synchronised gradients keep the two replicas identical
    assert reports[0]['checksum'] == reports[1]['checksum']
    assert osp.isfile(osp.join(tmp_path, 'epoch_2.pth'))


def test_teardown_leaves_no_gloo_worker_to_abort_the_exit():
    """tests/teardown_probe.py forces the teardown race of a finished job the bad way
    (without ``teardown_distributed()`` most runs abort with SIGABRT, ``terminate
    called without an active exception``); with it, every rank exits 0."""
    for _ in range(3):
        env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
               f'--master_port={free_port()}', 'tests/teardown_probe.py']
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
        assert 'terminate called' not in proc.stderr


def test_nan_on_one_rank_stops_every_rank_at_the_same_iteration(tmp_path, shared_dir):
    """loss_distill_enc turns NaN on rank 1 only (tests/configs/demo_nan_rank1_probe.py):
    both ranks stop at that iteration with the same error, before epoch 2's checkpoint."""
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1')
    cmd = ['bash', 'tools/dist_train.sh', 'tests/configs/demo_nan_rank1_probe.py', '2',
           '--work-dir', str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode != 0
    error = ('NonFiniteLossError: non-finite loss at iteration 3 (epoch 2, batch 1 of 2): '
             'loss_distill_enc = nan on rank 1. Training stopped before any later hook or '
             f'checkpoint used this iteration; the last checkpoint, {tmp_path}/epoch_1.pth, '
             'is intact.')
    for rank in (0, 1):
        assert f'[rank{rank}]: mmkd_invproj.hooks.finite_loss.{error}' in proc.stderr, \
            proc.stderr[-5000:]
    assert sorted(f for f in os.listdir(tmp_path) if '.pth' in f) == ['epoch_1.pth']

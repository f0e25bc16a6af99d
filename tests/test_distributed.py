"""Two processes on the gloo backend through tools/dist_train.sh (no GPU needed)."""
import json
import os
import os.path as osp
import socket
import subprocess

from .conftest import REPO


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_process_gloo_training(tmp_path, shared_dir):
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1')
    # the demo config for 2 epochs + a hook writing rank{r}.json (tests/rank_probe.py)
    cmd = ['bash', 'tools/dist_train.sh', 'tests/configs/demo_rank_probe.py', '2',
           '--work-dir', str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
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

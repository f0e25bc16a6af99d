import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = osp.abspath(os.environ.get('MMKD_SHARED', osp.join(REPO, '..', 'shared')))
NYU_MINI = osp.join(SHARED, 'data', 'nyu_mini')
MBV2_WEIGHTS = osp.join(SHARED, 'weights', 'mobilenet_v2-b0353104.pth')
DEPTH_DEMO = osp.join(REPO, 'configs/depth/mbv2_cls_teacher_inv_demo.py')


@pytest.fixture(scope='session')
def shared_dir():
    if not osp.isdir(SHARED):
        raise FileNotFoundError(f'the real sample data is expected at {SHARED} (the shared/ '
                                'folder beside the checkout); set MMKD_SHARED to its path')
    return SHARED


@pytest.fixture(scope='session')
def demo_run(tmp_path_factory, shared_dir):
    """The README's depth demo, trained once per test session (about a minute): its work
    dir, with epoch_20.pth, epoch_40.pth and the run's scalars.json."""
    import subprocess
    import sys
    work_dir = str(tmp_path_factory.mktemp('demo'))
    proc = subprocess.run([sys.executable, 'tools/train.py',
                           'configs/depth/mbv2_cls_teacher_inv_demo.py', '--work-dir', work_dir],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return work_dir


def run_tool(script, *args, timeout=600, env=None, check=False):
    """Run ``tools/<script>`` as a user does, on this checkout's package, one thread,
    with the sample data of ``SHARED``.

    Args:
        script (str): Path under ``tools/`` (``'train.py'``, ``'analysis/benchmark.py'``).
        *args: Its command-line arguments.
        timeout (int): Seconds before the run is killed. Defaults to 600.
        env (dict, optional): Further environment variables.
        check (bool): Assert a zero exit code (the output's tail in the message).

    Returns:
        subprocess.CompletedProcess: with ``stdout`` and ``stderr`` as text.
    """
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1', MMKD_SHARED=SHARED,
               **(env or {}))
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', script), *map(str, args)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def short_cfg(work_dir, iters=3, config=DEPTH_DEMO):
    """``config`` (the depth demo by default) cut to ``iters`` iterations of an
    IterBasedTrainLoop in ``work_dir``: constant learning rate, no validation or
    checkpoint within the run, a log line per iteration.

    Returns:
        mmengine.Config: ready for ``RUNNERS.build``.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.work_dir = str(work_dir)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=1000)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    cfg.log_processor = dict(by_epoch=False)
    return cfg


def free_port():
    """A TCP port free on 127.0.0.1 now, for a distributed job's master."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = osp.abspath(os.environ.get('MMKD_SHARED', osp.join(REPO, '..', 'shared')))
NYU_MINI = osp.join(SHARED, 'data', 'nyu_mini')
MBV2_WEIGHTS = osp.join(SHARED, 'weights', 'mobilenet_v2-b0353104.pth')


@pytest.fixture(scope='session')
def shared_dir():
    if not osp.isdir(SHARED):
        raise FileNotFoundError(f'the real sample data is expected at {SHARED} (the shared/ '
                                'folder beside the checkout); set MMKD_SHARED to its path')
    return SHARED


def run_tool(script, *args, timeout=600):
    """Run ``tools/<script>`` as a user does, on this checkout's package, one thread.

    Returns:
        subprocess.CompletedProcess: with ``stdout`` and ``stderr`` as text.
    """
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, osp.join(REPO, 'tools', script), *map(str, args)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)

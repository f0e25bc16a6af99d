"""What the installer puts into an environment: TensorBoard, and one OpenCV."""
import os.path as osp
import re

from .conftest import REPO


def requirement_names(fname):
    names = []
    with open(osp.join(REPO, 'requirements', fname)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-r'):
                names.append(re.split(r'[<>=!~\[ ]', line, 1)[0].lower())
    return names


def test_runtime_requirements_have_tensorboard_and_one_opencv():
    names = requirement_names('runtime.txt')
    assert 'tensorboard' in names
    # mmcv and mmengine require opencv-python; -headless would be a second cv2/ folder
    assert [n for n in names if n.startswith('opencv')] == ['opencv-python']


def test_installer_installs_no_headless_opencv():
    with open(osp.join(REPO, 'tools', 'install.sh')) as f:
        lines = [line.split('#', 1)[0] for line in f]
    uses = [line.strip() for line in lines if 'opencv-python-headless' in line]
    # only to find and remove a copy an earlier install left
    assert uses and all(re.search(r'\b(show|uninstall)\b', u) or u.startswith('log ')
                        for u in uses), uses
    installs = [line for line in lines if re.search(r'\binstall\b(?!.*uninstall)', line)
                and 'opencv' in line]
    assert installs and all('opencv-python-headless' not in line for line in installs)

"""What the installer (tools/install.sh, run by CI before the tests) put into this
environment: TensorBoard, and exactly one OpenCV."""
import os.path as osp
from importlib import metadata

import cv2


def test_one_opencv_distribution_provides_cv2():
    # mmcv and mmengine require opencv-python; a second (-headless) copy would share the
    # cv2/ folder, and uninstalling either breaks the other
    opencv = sorted({d.metadata['Name'].lower() for d in metadata.distributions()
                     if (d.metadata['Name'] or '').lower().startswith('opencv')})
    assert opencv == ['opencv-python']
    files = [str(f) for f in metadata.distribution('opencv-python').files]
    assert any(f.startswith('cv2/') for f in files)
    assert osp.basename(osp.dirname(cv2.__file__)) == 'cv2'


def test_tensorboard_is_installed_for_mmengines_backend():
    assert metadata.version('tensorboard')
    from torch.utils.tensorboard import SummaryWriter  # what TensorboardVisBackend imports
    assert SummaryWriter.__module__ == 'torch.utils.tensorboard.writer'

"""Training through MMEngine's Runner on the real frames (in-process, few iterations)."""
import torch
from mmengine.registry import RUNNERS

import mmkd_invproj  # noqa: F401

from .conftest import short_cfg


def test_teacher_bit_identical_after_three_runner_steps(tmp_path, shared_dir):
    runner = RUNNERS.build(short_cfg(tmp_path))
    teacher = runner.model.teacher
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    student_before = {k: v.clone() for k, v in runner.model.student.state_dict().items()}
    assert any('running_mean' in k for k in before)  # BatchNorm buffers are covered
    runner.train()
    after = teacher.state_dict()
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), k
    assert not teacher.training
    # ... while the student did train
    changed = [k for k, v in runner.model.student.state_dict().items()
               if v.dtype.is_floating_point and not torch.equal(v, student_before[k])]
    assert changed
    assert runner.iter == 3

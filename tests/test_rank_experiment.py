"""The rank experiment (mmkd_invproj.analysis.rank_experiment): the run configs, the
rank summary and the quiet Runner (the experiment itself takes minutes and is not
run here)."""
import io
import logging

import numpy as np
import pytest

from mmkd_invproj.analysis import effective_rank
from mmkd_invproj.analysis import rank_experiment as rx

from .conftest import DEPTH_DEMO as DEMO_CONFIG



def test_effective_rank_closed_forms():
    assert effective_rank(np.ones(7)) == pytest.approx(7.0)
    assert effective_rank([3.0, 0.0, 0.0]) == pytest.approx(1.0)
    # p = (2/3, 1/3): exp(-(2/3 ln 2/3 + 1/3 ln 1/3))
    expected = np.exp(-(2 / 3 * np.log(2 / 3) + 1 / 3 * np.log(1 / 3)))
    assert effective_rank([2.0, 1.0, np.nan]) == pytest.approx(expected)
    assert effective_rank(np.zeros(4)) == 0.0


@pytest.mark.parametrize('projector,teacher', rx.CASES)
def test_distill_config_of_each_case(tmp_path, projector, teacher):
    ckpt = str(tmp_path / 'teacher.pth')
    cfg = rx.distill_config(DEMO_CONFIG, str(tmp_path), 7, 1e-3, projector, teacher, ckpt, 5)
    model = cfg.model
    assert model.teacher == model.student.backbone  # same encoder design as the student
    assert model.teacher_ckpt == ckpt and model.teacher_ckpt_strict
    assert model.teacher_ckpt_prefix == ('backbone.' if teacher == 'same_task' else None)
    assert model.teacher_seed == (1 if teacher == 'random' else None)
    (pair,) = model.distill_pairs
    assert (pair.student, pair.student_index, pair.teacher) == ('backbone', -1, 'layer7')
    assert pair.projector.type == rx.PROJECTORS[projector]
    assert cfg.custom_hooks == [dict(type='ProjectorSpectrumHook', interval=5)]
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=7, val_interval=8)
    assert cfg.optim_wrapper.optimizer.lr == 1e-3 and cfg.param_scheduler == []
    assert cfg.val_dataloader is None and cfg.default_hooks.checkpoint.interval == 7


def test_distill_config_rejects_bad_cases(tmp_path):
    with pytest.raises(ValueError, match="unknown case \\('inverse', 'random'\\)"):
        rx.distill_config(DEMO_CONFIG, str(tmp_path), 1, 1e-3, 'inverse', 'random', None, 1)
    with pytest.raises(ValueError, match='same-task teacher needs the checkpoint of step 1'):
        rx.distill_config(DEMO_CONFIG, str(tmp_path), 1, 1e-3, 'inverted', 'same_task',
                          None, 1)


def test_summary_reads_ranks_from_the_spectra():
    sv = np.array([[1.0, 0.5, 0.2, 0.05, 0.001],    # initial: rank 4 at 0.01
                   [2.0, 0.5, 0.01, 0.005, 0.0]])   # final: 2 at 0.01 (cut 0.02) and 0.1
    spec = dict(iters=np.array([0, 50]), singular_values=sv)
    dec = dict(scale=0.5, rank=3, logged=1.0, transfer_sq=1.2, regularisation_sq=0.6,
               residual=0.2)
    (row,) = rx.summarise({'inverted, random teacher': spec},
                          {'inverted, random teacher': dec})
    assert (row['rank_init'], row['rank_final'], row['rank_final_0.1']) == (4, 2, 2)
    assert (row['min_dim'], row['iters'], row['sigma_1_final']) == (5, 50, 2.0)
    assert (row['transfer'], row['regularisation'], row['residual']) == (0.6, 0.3, 0.1)
    table = rx.summary_table([row])
    assert '| inverted, random teacher | 4 -> **2** / 5 | 2 |' in table
    assert '| 1.0 = 0.6 + 0.3 + (0.1) |' in table


def test_quiet_runner_logs_details_to_its_file_only(tmp_path, capsys, shared_dir):
    """Step 1 of the experiment, one iteration: the config dump, the per-parameter
    initialisation, warnings and the training log reach the log file, not the console;
    errors reach both."""
    from mmengine.logging import print_log
    cfg = rx.teacher_pretrain_config(DEMO_CONFIG, str(tmp_path), 1, 1e-3)
    cfg.experiment_name = f'quiet_{tmp_path.name}'
    cfg.default_hooks.logger.interval = 1
    runner = rx.build_runner(cfg)
    runner.train()
    print_log('a warning', logger=runner.logger, level=logging.WARNING)
    print_log('an error the user must see', logger=runner.logger, level=logging.ERROR)
    console = capsys.readouterr().out
    log = open(runner.logger.log_file).read()
    for detail in ('Config:', 'The value is the same before and after calling',
                   'Iter(train) [1/1]', 'a warning'):
        assert detail in log and detail not in console, detail
    assert 'an error the user must see' in console and 'an error the user must see' in log


def test_errors_only_on_console_restores_the_level():
    logger = logging.getLogger('rank_experiment_console_test')
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.INFO)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    with rx.errors_only_on_console(logger):
        logger.warning('hidden')
        logger.error('shown')
    logger.info('again')
    assert stream.getvalue() == 'shown\nagain\n' and handler.level == logging.INFO

"""What the tools check and offer around a config: this package's configs by package
name, start-up errors with the fix (misspelt types, a model merged instead of
replaced, a missing dataset), the sample-data bases and ``--teacher-dtype``."""
import glob
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS, init_default_scope

import mmkd_invproj  # noqa: F401  (registers modules and the config package)
from mmkd_invproj.utils.config_check import check_config, check_run_config
from mmkd_invproj.utils.sample_data import apply_sample_data
from mmkd_invproj.utils.scoped_build import ScopeError

from .conftest import NYU_MINI, REPO, SHARED, run_tool

#: README, "TensorBoard": the one line that adds the backend to any config
TENSORBOARD_LINE = ("visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), "
                    "dict(type='TensorboardVisBackend')])")
MMSEG_MBV2_ADE = 'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py'
#: the README recipe (teacher, one pair), with or without `_delete_=True`
RECIPE = """
_base_ = [{bases}]
custom_imports = dict(imports=['mmkd_invproj'], allow_failed_imports=False)
model = dict(
    {delete}type='CrossTaskDistiller',
    student=_base_.model,
    teacher=dict(type='TorchvisionTeacher', model_name='resnet50', weights='IMAGENET1K_V2'),
    distill_pairs=[dict(name='enc', student='backbone', student_index=-1, teacher='layer4',
                        projector=dict(type='{projector}'),
                        loss=dict(type='{loss}', loss_weight=1.0))])
"""


def recipe(tmp_path, bases=(MMSEG_MBV2_ADE,), delete=True, projector='InvertedProjector',
           loss='FitNetsLoss'):
    path = tmp_path / 'my_distill_config.py'
    path.write_text(RECIPE.format(bases=', '.join(repr(b) for b in bases),
                                  delete='_delete_=True, ' if delete else '',
                                  projector=projector, loss=loss))
    return Config.fromfile(str(path))


# ------------------------------------------------------------------ package prefix
def test_package_prefix_inherits_and_builds(tmp_path, shared_dir):
    """`mmkd_invproj::` resolves to this package's configs; the inherited dicts get
    the `mmkd_invproj` scope, which builds through MMSeg's registries."""
    child = tmp_path / 'child.py'
    child.write_text(
        "_base_ = ['mmkd_invproj::depth/mbv2_cls_teacher_inv_demo.py']\n"
        "model = dict(distill_pairs=[dict(name='enc', student='backbone', student_index=-1,\n"
        "    teacher='features.18', projector=dict(type='TraditionalProjector'),\n"
        "    loss=dict(type='FitNetsLoss'))])\n")
    cfg = Config.fromfile(str(child))
    assert cfg.model._scope_ == 'mmkd_invproj'
    assert osp.samefile(cfg.train_dataloader.dataset.data_root, NYU_MINI)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    proj = model.pairs.projectors['enc']
    # traditional: student (MobileNetV2-0.5, 160 ch) -> teacher (MobileNetV2, 1280 ch)
    assert type(proj).__name__ == 'TraditionalProjector'
    assert (proj.in_channels, proj.out_channels) == (160, 1280)
    assert len(DATASETS.build(cfg.train_dataloader.dataset)) == 6


def test_unknown_package_prefix_is_mmengines_error(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text("_base_ = ['mmkd_nope::depth/x.py']\n")
    with pytest.raises(AssertionError, match='does not support to load mmkd_nope'):
        Config.fromfile(str(child))


# ------------------------------------------------------------------ start-up errors
def test_misspelt_types_list_the_closest_names(tmp_path):
    cfg = recipe(tmp_path, projector='InvertProjector', loss='FitnetLoss')
    with pytest.raises(ScopeError) as e:
        check_config(cfg)
    msg = str(e.value)
    assert ("model.distill_pairs[0].projector: type=\"InvertProjector\"; closest registered "
            "names: ['InvertedProjector'") in msg
    assert "model.distill_pairs[0].loss: type=\"FitnetLoss\"; closest registered names: " \
           "['FitNetsLoss'" in msg


def test_model_merged_into_the_base_says_add_delete(tmp_path):
    with pytest.raises(TypeError) as e:
        check_config(recipe(tmp_path, delete=False))
    msg = str(e.value)
    assert "CrossTaskDistiller does not take ['auxiliary_head', 'backbone', 'decode_head', " \
           "'pretrained', 'test_cfg', 'train_cfg']" in msg
    assert 'add `_delete_=True`' in msg
    check_config(recipe(tmp_path, delete=True))  # the README recipe as written passes


def test_keywords_a_subclass_passes_to_its_base_are_accepted():
    """CycleGAN takes ``test_train_mode`` through ``**kwargs`` (BaseTranslationModel
    names it): the check accepts every ``__init__`` parameter of the MRO. Before, it
    read only CycleGAN's own signature and a hand-kept list, and rejected the key."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/translation/cyclegan_maps.py'))
    cfg.model.test_train_mode = True
    cfg.model.lambda_identity = 0.0
    check_config(cfg)  # no error
    cfg.model.test_train_mod = True
    with pytest.raises(TypeError) as e:
        check_config(cfg)
    assert str(e.value) == ("model: CycleGAN does not take ['test_train_mod'] (did you mean "
                            "{'test_train_mod': ['test_train_mode']}?)")


def test_missing_nyu_names_path_converter_and_sources():
    cfg = Config.fromfile(osp.join(REPO, 'configs/depth/mbv2_cls_teacher_inv.py'))
    cfg.train_dataloader.dataset.data_root = cfg.val_dataloader.dataset.data_root = \
        '/nonexistent/nyu'
    with pytest.raises(FileNotFoundError) as e:
        check_run_config(cfg, 'train')
    msg = str(e.value)
    for part in ("NYUDataset: not found: ['/nonexistent/nyu/images/train', "
                 "'/nonexistent/nyu/annotations/train']",
                 'tools/dataset_converters/nyu.py bts', 'nyudepthv2_train_files_with_gt.txt',
                 'tools/dataset_converters/nyu.py labeled nyu_depth_v2_labeled.mat splits.mat',
                 'https://cs.nyu.edu/~silberman/datasets/nyu_depth_v2.html',
                 'mmkd_invproj::_base_/datasets/nyu_mini.py'):
        assert part in msg, (part, msg)


def test_missing_ade20k_names_the_download(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs/seg/deeplabv3_r50_baseline.py'))
    cfg.test_dataloader.dataset.data_root = str(tmp_path / 'ade' / 'ADEChallengeData2016')
    with pytest.raises(FileNotFoundError) as e:
        check_run_config(cfg, 'test')
    msg = str(e.value)
    assert 'ADE20KDataset: not found' in msg and 'images/validation' in msg
    assert 'ADEChallengeData2016.zip' in msg and f'unzip it into {tmp_path / "ade"}' in msg


def test_train_tool_fails_at_start_without_nyu(tmp_path):
    """The main config without data/nyu: the error comes before the model is built."""
    proc = run_tool('train.py', 'configs/depth/mbv2_cls_teacher_inv.py', '--work-dir',
                    str(tmp_path / 'w'), '--cfg-options',
                    f'train_dataloader.dataset.data_root={tmp_path}/nyu',
                    f'val_dataloader.dataset.data_root={tmp_path}/nyu')
    assert proc.returncode != 0
    assert f"NYUDataset: not found: ['{tmp_path}/nyu/images/train'" in proc.stderr
    assert 'teacher' not in proc.stdout  # nothing was built (the log starts with the model)
    assert len((proc.stdout + proc.stderr).splitlines()) < 40


# ------------------------------------------------------------------ sample data
def test_test_tool_fails_at_start_on_a_missing_checkpoint(tmp_path):
    """Before, the runner and the teacher were built first (hundreds of log lines), and
    the error did not say which checkpoints the folder holds."""
    (tmp_path / 'epoch_40.pth').write_bytes(b'')
    (tmp_path / 'epoch_20.pth').write_bytes(b'')
    missing = str(tmp_path / 'epoch_04.pth')
    proc = run_tool('test.py', 'configs/depth/mbv2_cls_teacher_inv_demo.py', missing)
    assert proc.returncode != 0
    assert (f'FileNotFoundError: checkpoint "{missing}" does not exist (absolute path: '
            f"{missing}). {tmp_path} holds ['epoch_20.pth', 'epoch_40.pth']. Put the file "
            'there, or give the right path') in proc.stderr
    assert 'teacher' not in proc.stdout  # nothing was built
    assert len((proc.stdout + proc.stderr).splitlines()) < 40


def test_sample_data_base_on_an_mmseg_config(tmp_path, shared_dir):
    """One `_base_` entry turns the README recipe on MMSeg's ADE20K config into a run
    on ade_mini: data roots, no workers, 20 iterations, no mmcls:// student weights,
    the teacher untouched."""
    cfg = recipe(tmp_path, bases=(MMSEG_MBV2_ADE, 'mmkd_invproj::_base_/datasets/ade_mini.py'))
    assert cfg.model.student.pretrained == 'mmcls://mobilenet_v2'
    assert cfg.train_cfg.max_iters == 160000
    pipelines = {k: cfg[k].dataset.pipeline for k in ('train_dataloader', 'test_dataloader')}
    assert apply_sample_data(cfg)
    assert 'sample_data' not in cfg
    for key, split in (('train_dataloader', 'training'), ('val_dataloader', 'validation'),
                       ('test_dataloader', 'validation')):
        ds = cfg[key].dataset
        assert osp.samefile(ds.data_root, osp.join(SHARED, 'data', 'ade_mini'))
        assert ds.data_prefix == dict(img_path=f'images/{split}',
                                      seg_map_path=f'annotations/{split}')
        assert cfg[key].num_workers == 0 and cfg[key].persistent_workers is False
        assert ds.type == 'ADE20KDataset'
    for key, pipeline in pipelines.items():
        assert cfg[key].dataset.pipeline == pipeline  # the config's own pipelines
    assert cfg.train_dataloader.batch_size == 2
    assert (cfg.train_cfg.max_iters, cfg.train_cfg.val_interval) == (20, 20)
    assert cfg.default_hooks.checkpoint.interval == 20
    assert cfg.param_scheduler[0].end == 20  # PolyLR ends with the run
    assert cfg.model.student.pretrained is None
    assert cfg.model.teacher.weights == 'IMAGENET1K_V2'
    check_run_config(cfg, 'train')  # the sample folders exist
    assert len(DATASETS.build(cfg.train_dataloader.dataset)) == 2


@pytest.fixture(scope='module')
def short_run(tmp_path_factory, shared_dir):
    """tools/train.py, one epoch, on a package-prefixed config plus the nyu_mini base,
    with `--teacher-dtype bfloat16` and the README's one TensorBoard line."""
    tmp = tmp_path_factory.mktemp('short_run')
    child = tmp / 'child.py'
    child.write_text("_base_ = ['mmkd_invproj::depth/mbv2_cls_teacher_inv_demo.py',\n"
                     "          'mmkd_invproj::_base_/datasets/nyu_mini.py']\n"
                     f"{TENSORBOARD_LINE}\n")
    work = tmp / 'work'
    proc = run_tool('train.py', str(child), '--work-dir', str(work), '--teacher-dtype',
                    'bfloat16', '--cfg-options', 'train_cfg.max_epochs=1',
                    'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1',
                    'default_hooks.logger.interval=1')
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work, proc.stdout + proc.stderr


def test_sample_data_run_validates(short_run):
    work, log = short_run
    assert 'sample data: train_dataloader.dataset.data_root=' in log
    rows = [json.loads(line) for f in glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))
            for line in open(f)]
    val = [r for r in rows if 'd1' in r]
    assert len(val) == 1 and 0.0 <= val[0]['d1'] <= 1.0 and val[0]['rmse'] > 0


def test_teacher_dtype_keeps_the_teacher_in_bfloat16(short_run):
    work, _ = short_run
    ckpt = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=False)
    teacher = {k: v for k, v in ckpt['state_dict'].items() if k.startswith('teachers.')}
    assert teacher and all(v.dtype == torch.bfloat16 for v in teacher.values()
                           if v.is_floating_point())
    student = [v for k, v in ckpt['state_dict'].items() if k.startswith('student.')]
    assert all(v.dtype == torch.float32 for v in student if v.is_floating_point())


def test_tensorboard_line_writes_events(short_run):
    """The README's one line adds MMEngine's TensorboardVisBackend: the training losses
    are in the event file, step for step as in scalars.json."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    work, _ = short_run
    events = glob.glob(str(work / '*' / 'vis_data' / 'events.out.tfevents.*'))
    assert len(events) == 1, events
    acc = EventAccumulator(events[0])
    acc.Reload()
    assert {'loss', 'loss_distill_enc', 'd1'} <= set(acc.Tags()['scalars'])
    rows = [json.loads(line) for f in glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))
            for line in open(f)]
    logged = [r['loss'] for r in rows if 'loss' in r]
    assert len(logged) == 3  # 3 iterations of 2 frames
    np.testing.assert_allclose([e.value for e in acc.Scalars('loss')], logged, rtol=1e-5)


def test_teacher_dtype_needs_a_teacher(tmp_path):
    proc = run_tool('train.py', 'configs/depth/mbv2_baseline.py', '--teacher-dtype',
                    'bfloat16', '--work-dir', str(tmp_path))
    assert proc.returncode != 0
    assert ('--teacher-dtype needs a model with one `teacher`; configs/depth/mbv2_baseline.py '
            'trains a DepthEstimator without') in proc.stderr

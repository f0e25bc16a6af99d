"""What users get wrong when they add distillation to an MMSeg config, and the errors
they get: wrapper-prefixed module names, teachers from scopes that are not there, and
class counts left inconsistent between a base config and its child."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmkd_invproj  # noqa: F401
from mmkd_invproj import CrossTaskDistiller
from mmkd_invproj.distillers import cross_task_distiller
from mmkd_invproj.hooks.feature_recorder import UnknownModuleError
from mmkd_invproj.registry import MODELS
from mmkd_invproj.utils.scoped_build import ScopeError, build_in_scope

from .conftest import REPO
from .seg_utils import LIGHT_STUDENT, MMSEG_ADE_DEEPLABV3, tiny_ade_cfg

RESNET18 = dict(type='TorchvisionTeacher', model_name='resnet18')  # random init, no file
FITNETS_INV = dict(projector=dict(type='InvertedProjector'), loss=dict(type='FitNetsLoss'))


@pytest.fixture(scope='module')
def student():
    """MMSeg's DeepLabV3 ADE20K student with MMSeg's R18-D8 recipe, nothing downloaded."""
    init_default_scope('mmseg')
    cfg = get_config(MMSEG_ADE_DEEPLABV3)
    cfg.merge_from_dict({f'model.{k}': v for k, v in LIGHT_STUDENT.items()})
    cfg.model.pretrained = None
    return cfg.model


def distiller(student, teacher=RESNET18, student_name='backbone', teacher_name='layer4',
              **kwargs):
    return CrossTaskDistiller(
        student=student, teacher=teacher, infer_input_size=(64, 64),
        distill_pairs=[dict(name='enc', student=student_name, student_index=3,
                            teacher=teacher_name, **FITNETS_INV)], **kwargs)


# --------------------------------------------------------------- wrapper prefixes
@pytest.mark.parametrize('name,prefix', [('student.backbone', 'student.'),
                                         ('module.backbone', 'module.'),
                                         ('module.student.backbone', 'module.student.')])
def test_student_feature_with_a_wrapper_prefix(student, name, prefix):
    with pytest.raises(UnknownModuleError) as info:
        distiller(student, student_name=name)
    assert str(info.value).startswith(
        f'no module named "{name}" in the student (EncoderDecoder). "{name}" carries the '
        f'wrapper prefix "{prefix}"; name modules relative to the student itself: '
        '"backbone". Closest names: ')


def test_teacher_feature_with_a_wrapper_prefix(student):
    with pytest.raises(UnknownModuleError) as info:
        distiller(student, teacher_name='teacher.layer4')
    assert str(info.value).startswith(
        'no module named "teacher.layer4" in the teacher (ResNet). "teacher.layer4" carries '
        'the wrapper prefix "teacher."; name modules relative to the teacher itself: '
        '"layer4".')


# --------------------------------------------------------------- scopes
def test_misspelt_scope_names_the_scope_and_the_fix(student):
    with pytest.raises(ScopeError) as info:
        distiller(student, teacher=dict(type='mmdett.ResNet', depth=50))
    msg = str(info.value)
    assert msg.startswith('the teacher type "mmdett.ResNet" names the scope "mmdett", which '
                          'is not an installed OpenMMLab package with a registry (installed '
                          'scopes: [')
    assert "did you mean ['mmdet'" in msg
    assert msg.endswith("Fix the prefix, or install the package and import it: custom_imports "
                        "= dict(imports=['mmkd_invproj', 'mmdett'], allow_failed_imports=False).")


def test_unscoped_detector_says_which_scope_registers_it(student):
    """MMDet's Mask R-CNN config as the teacher without a scope: MMSeg has no MaskRCNN."""
    model = get_config('mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py').model
    model.backbone.init_cfg = None
    with pytest.raises(ScopeError) as info:
        distiller(student, teacher=model, teacher_name='neck')
    assert str(info.value) == (
        'the teacher config uses type "MaskRCNN", which is not registered in the default '
        'scope "mmseg" but in [\'mmdet\']. Prefix the teacher\'s top-level type with its '
        'scope (type="mmdet.<Model>", the whole model is then built in "mmdet") or set '
        '_scope_="mmdet" in the teacher config.')
    # the fix the message gives: every child of the detector comes from MMDet
    model.type = 'mmdet.MaskRCNN'
    init_default_scope('mmseg')
    detector = build_in_scope(model, MODELS)
    assert type(detector.rpn_head).__module__ == 'mmdet.models.dense_heads.rpn_head'
    assert type(detector.backbone).__module__ == 'mmdet.models.backbones.resnet'


def test_misspelt_type_in_a_scope_lists_close_names(student):
    with pytest.raises(ScopeError) as info:
        distiller(student, teacher=dict(type='mmdet.ResNett', depth=50))
    assert str(info.value).startswith(
        'the teacher type "mmdet.ResNett": scope "mmdet" has no model entry "ResNett" (close '
        "names: ['ResNet', ")


def test_unimported_module_asks_for_custom_imports(student, tmp_path, monkeypatch):
    with pytest.raises(ScopeError) as info:
        distiller(student, teacher=dict(type='TinyTeacherNet'))
    assert str(info.value).startswith(
        'the teacher config uses type "TinyTeacherNet", which no imported scope registers')
    assert str(info.value).endswith(
        "add that module to custom_imports: custom_imports = dict(imports=['mmkd_invproj', "
        "'your_package.your_module'], allow_failed_imports=False).")
    # following the advice: the module that registers it, imported as custom_imports does
    (tmp_path / 'tiny_teacher_mod.py').write_text(
        'import torch.nn as nn\n'
        'from mmseg.registry import MODELS\n\n\n'
        '@MODELS.register_module()\n'
        'class TinyTeacherNet(nn.Module):\n'
        '    def __init__(self):\n'
        '        super().__init__()\n'
        '        self.layer4 = nn.Conv2d(3, 8, 3, stride=8, padding=1)\n\n'
        '    def forward(self, x):\n'
        '        return self.layer4(x)\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config(dict(custom_imports=dict(imports=['mmkd_invproj', 'tiny_teacher_mod'],
                                          allow_failed_imports=False)))
    from mmengine.utils import import_modules_from_strings
    import_modules_from_strings(**cfg.custom_imports)
    model = distiller(student, teacher=dict(type='TinyTeacherNet'))
    proj = model.pairs.projectors['enc']
    assert (proj.in_channels, proj.out_channels) == (8, 512)
    sys.modules.pop('tiny_teacher_mod', None)


# --------------------------------------------------------------- class counts
def test_child_config_changing_one_head_only(tmp_path):
    """A Cityscapes (19 classes) base retargeted to ADE20K in the decode head only."""
    import mmseg
    base = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', 'deeplabv3',
                    'deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024.py')
    (tmp_path / 'my_ade20k.py').write_text(
        f'_base_ = [{base!r}]\n'
        'model = dict(pretrained=None, decode_head=dict(num_classes=150))\n')
    child = tmp_path / 'child.py'
    child.write_text(
        "_base_ = ['./my_ade20k.py']\n"
        'model = dict(_delete_=True, type="CrossTaskDistiller", student=_base_.model, '
        'teacher=dict(type="TorchvisionTeacher", model_name="resnet18"), '
        'distill_pairs=[dict(name="enc", student="backbone", student_index=3, '
        'teacher="layer4", projector=dict(type="InvertedProjector"), '
        'loss=dict(type="FitNetsLoss"))])\n')
    cfg = Config.fromfile(str(child))
    init_default_scope('mmseg')
    with pytest.raises(ValueError) as info:
        MODELS.build(cfg.model)
    assert str(info.value) == (
        "the student's heads disagree on the number of classes: decode_head has "
        'num_classes=150, auxiliary_head has num_classes=19. A child config probably changed '
        'num_classes in one head only; set the same num_classes in every head (decode_head '
        'and auxiliary_head).')


def test_dataset_classes_differ_from_num_classes(tmp_path, shared_dir):
    cfg = Config.fromfile(osp.join(REPO, 'configs/seg/deeplabv3_r50_cls_teacher_inv_demo.py'))
    cfg = tiny_ade_cfg(cfg, str(tmp_path), light_student=True)
    cfg.model.student.decode_head.num_classes = 19
    cfg.model.student.auxiliary_head.num_classes = 19
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError) as info:
        runner.train()
    assert str(info.value) == (
        "the train dataset (ADE20KDataset) has 150 classes but the student's decode_head has "
        'num_classes=19. Set num_classes=150 in every head of the model, or give the dataset '
        'the classes the model predicts (metainfo=dict(classes=...)).')
    assert runner.iter == 0  # raised before the first iteration


def test_data_preprocessor_changed_in_the_student_only(student, monkeypatch):
    """The Runner hands the config's top-level data_preprocessor to the distiller; a
    child that resized only the student's is told, with both values."""
    logged = []
    monkeypatch.setattr(cross_task_distiller, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw.get('level'))))
    own = dict(student, data_preprocessor=dict(student.data_preprocessor, size=(64, 64)))
    top_level = dict(student.data_preprocessor, size=(512, 512))
    model = distiller(own, data_preprocessor=top_level)
    warnings = [m for m, level in logged if level == 30]
    assert len(warnings) == 1
    assert "{key: (student, used)} = {'size': ((64, 64), (512, 512))}" in warnings[0]
    assert model.data_preprocessor.size == (512, 512)
    logged.clear()
    distiller(own, data_preprocessor=dict(own['data_preprocessor']))
    assert [m for m, level in logged if level == 30] == []


def test_no_error_for_a_consistent_student(student):
    model = distiller(student).eval()
    assert model.student.decode_head.num_classes == 150
    out = model(torch.zeros(1, 3, 64, 64), mode='tensor')
    assert tuple(out.shape) == (1, 150, 8, 8)  # logits on the stride-8 grid

import pytest
import torch
import torchvision

from mmkd_invproj.teachers import build_torchvision_teacher, load_teacher_checkpoint

from .conftest import MBV2_WEIGHTS


def test_prefixed_checkpoint_reports_missing_and_unexpected(tmp_path):
    ref = torch.load(MBV2_WEIGHTS, map_location='cpu')
    state = {'backbone.' + k: v for k, v in ref.items() if not k.startswith('classifier')}
    state['backbone.extra.weight'] = torch.zeros(1)
    state['head.fc.weight'] = torch.zeros(1)  # outside the prefix: ignored
    path = tmp_path / 'detector_like.pth'
    torch.save({'state_dict': state, 'meta': {}}, path)
    model = torchvision.models.mobilenet_v2()
    missing, unexpected = load_teacher_checkpoint(model, str(path), prefix='backbone.')
    assert sorted(missing) == ['classifier.1.bias', 'classifier.1.weight']
    assert unexpected == ['extra.weight']
    assert torch.equal(model.features[18][0].weight, ref['features.18.0.weight'])
    with pytest.raises(RuntimeError, match='Missing key'):
        load_teacher_checkpoint(model, str(path), prefix='backbone.', strict=True)


def test_unknown_prefix_and_missing_file_are_explained(tmp_path):
    model = torchvision.models.mobilenet_v2()
    with pytest.raises(KeyError, match='no key of .* starts with prefix "backbone."'):
        load_teacher_checkpoint(model, MBV2_WEIGHTS, prefix='backbone.')
    with pytest.raises(FileNotFoundError, match='nope.pth.*fix `teacher_ckpt`'):
        load_teacher_checkpoint(model, str(tmp_path / 'nope.pth'))
    # the frozen teacher loads the same way, before anything else is built
    from mmkd_invproj.teachers import FrozenTeacher
    with pytest.raises(FileNotFoundError, match='nope.pth.*fix `teacher_ckpt`'):
        FrozenTeacher(dict(type='TorchvisionTeacher', model_name='mobilenet_v2'),
                      checkpoint=str(tmp_path / 'nope.pth'))


def test_torchvision_builder_errors_list_valid_choices(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"unknown torchvision model 'mobilenetv2'.*mobilenet_v2"):
        build_torchvision_teacher('mobilenetv2')
    with pytest.raises(ValueError, match=r"unknown weights 'IMAGENET'.*IMAGENET1K_V1"):
        build_torchvision_teacher('mobilenet_v2', weights='IMAGENET')


def test_torchvision_weights_api_offline_error_names_cache_path(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))

    def no_network(*args, **kwargs):
        raise OSError('network is unreachable')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_network)
    with pytest.raises(RuntimeError, match=r'mobilenet_v2-b0353104\.pth to .*hub/checkpoints'):
        build_torchvision_teacher('mobilenet_v2', weights='IMAGENET1K_V1')


def test_torchvision_weights_api_uses_the_hub_cache(tmp_path, monkeypatch):
    import shutil
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    (tmp_path / 'hub' / 'checkpoints').mkdir(parents=True)
    shutil.copy(MBV2_WEIGHTS, tmp_path / 'hub' / 'checkpoints')
    model = build_torchvision_teacher('mobilenet_v2', weights='IMAGENET1K_V1')
    ref = torch.load(MBV2_WEIGHTS, map_location='cpu')
    assert torch.equal(model.classifier[1].weight, ref['classifier.1.weight'])

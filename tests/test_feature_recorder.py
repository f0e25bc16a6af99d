import pytest
import torch
import torch.nn as nn

from mmkd_invproj.hooks import FeatureRecorder


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(4, 8, 3, stride=2, padding=1))
        self.head = nn.Linear(8, 2)
        self.unused = nn.Conv2d(8, 8, 1)
        self.head_calls = 0

    def forward(self, x):
        f = self.backbone(x)
        self.head_calls += 1
        return self.head(f.mean((2, 3)))


def test_records_only_inside_context_and_returns_output():
    net = Net()
    rec = FeatureRecorder(net, ['backbone.2'])
    x = torch.randn(2, 3, 8, 8)
    net(x)
    with pytest.raises(RuntimeError, match='never fired'):
        rec.get('backbone.2')
    with rec:
        net(x)
    assert rec.get('backbone.2').shape == (2, 8, 4, 4)
    assert torch.allclose(rec.get('backbone.2'), net.backbone(x))


def test_unknown_name_lists_close_matches():
    with pytest.raises(KeyError) as err:
        FeatureRecorder(Net(), ['backbone.3'], role='teacher')
    msg = str(err.value)
    assert 'no module named "backbone.3" in the teacher' in msg
    assert "'backbone.2'" in msg and "'backbone.1'" in msg


def test_wrapper_prefix_is_explained():
    with pytest.raises(KeyError, match='wrapper prefix "student."; .*"backbone.2"'):
        FeatureRecorder(Net(), ['student.backbone.2'], role='student')


def test_model_wrapper_is_unwrapped():
    net = Net()
    rec = FeatureRecorder(nn.DataParallel(net), ['head'])  # an MMEngine-known wrapper
    with rec:
        net(torch.randn(1, 3, 8, 8))
    assert rec.get('head').shape == (1, 2)


def test_hook_that_never_fired_raises():
    net = Net()
    rec = FeatureRecorder(net, ['unused', 'head'])
    with rec:
        net(torch.randn(1, 3, 8, 8))
    with pytest.raises(RuntimeError, match='"unused" never fired'):
        rec.get('unused')


def test_early_exit_skips_the_rest_of_the_forward():
    net = Net()
    rec = FeatureRecorder(net, ['backbone.0', 'backbone.2'], early_exit=True)
    out = rec.run(net, torch.randn(1, 3, 8, 8))
    assert out is None
    assert net.head_calls == 0  # head never ran
    assert rec.get('backbone.2').shape == (1, 8, 4, 4)
    assert rec.get('backbone.0').shape == (1, 4, 8, 8)


def test_input_source_and_tuple_index():
    net = Net()
    rec = FeatureRecorder(net, ['head'], sources={'head': 'input'})
    with rec:
        net(torch.randn(3, 3, 8, 8))
    assert rec.get('head').shape == (3, 8)


def test_remove_forgets_names_and_features_and_add_hooks_again():
    """Before: remove() kept ``names`` (and the last features), so ``add`` of a name
    hooked before was a no-op: the module never recorded again."""
    net = Net()
    rec = FeatureRecorder(net, ['backbone.2', 'head'])
    x = torch.randn(2, 3, 8, 8)
    with rec:
        net(x)
    rec.remove()
    assert rec.names == []
    with pytest.raises(RuntimeError, match='"head" never fired'):
        rec.get('head')  # the last window's features are gone too
    assert all(not m._forward_hooks for m in net.modules())
    rec.add('backbone.2')
    assert rec.names == ['backbone.2'] and len(net.backbone[2]._forward_hooks) == 1
    with rec:
        net(x)
    torch.testing.assert_close(rec.get('backbone.2'), net.backbone(x), rtol=0, atol=0)
    with pytest.raises(RuntimeError, match='"head" never fired'):
        rec.get('head')


def test_unwrap_model_strips_every_registered_wrapper_and_nothing_else():
    from mmkd_invproj.utils import unwrap_model, unwrap_student
    net = Net()
    assert unwrap_model(nn.DataParallel(nn.DataParallel(net))) is net
    assert unwrap_model(net) is net

    class Holder(nn.Module):  # a module with a submodule called `module`: no wrapper
        def __init__(self):
            super().__init__()
            self.module = Net()
            self.student = net

    holder = Holder()
    assert unwrap_model(holder) is holder
    assert unwrap_student(nn.DataParallel(holder)) is net  # a distiller's student
    assert unwrap_student(nn.DataParallel(net)) is net  # no student: the model

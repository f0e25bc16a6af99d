import io
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmkd_invproj  # noqa: F401  (importing must not widen torch's allowlist)
from mmkd_invproj.utils.checkpoint_compat import mmengine_checkpoint_globals


class NotAllowed:
    pass


def mmengine_like_checkpoint():
    hub = MessageHub.get_instance('ckpt_compat_test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('iter', 7)
    return {'meta': {'epoch': 1, 'iter': 7, 'seed': 0}, 'state_dict': {'w': torch.ones(2)},
            'message_hub': hub.state_dict()}


def roundtrip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf)  # the torch >= 2.6 default: weights_only=True


def test_import_leaves_the_allowlist_alone_and_the_scope_restores_it():
    assert HistoryBuffer not in torch.serialization.get_safe_globals()
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        roundtrip(mmengine_like_checkpoint())
    with mmengine_checkpoint_globals():
        assert HistoryBuffer in torch.serialization.get_safe_globals()
    assert HistoryBuffer not in torch.serialization.get_safe_globals()
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        roundtrip(mmengine_like_checkpoint())


@mmengine_checkpoint_globals()
def test_message_hub_checkpoint_loads_weights_only():
    ckpt = roundtrip(mmengine_like_checkpoint())
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(1.0)
    assert ckpt['message_hub']['runtime_info']['iter'] == 7
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


@mmengine_checkpoint_globals()
def test_other_globals_are_still_rejected():
    with pytest.raises(pickle.UnpicklingError, match='NotAllowed'):
        roundtrip({'x': NotAllowed()})


class ReadsInit:

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


class CallsSystem:

    def __reduce__(self):
        import os
        return (os.system, ('true', ))


@mmengine_checkpoint_globals()
def test_getattr_is_restricted_to_history_buffer_methods():
    with pytest.raises(pickle.UnpicklingError, match='refuses getattr'):
        roundtrip({'x': ReadsInit()})
    with pytest.raises(pickle.UnpicklingError, match='system'):
        roundtrip({'x': CallsSystem()})

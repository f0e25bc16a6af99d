# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Resuming MMEngine 0.10.x checkpoints under torch >= 2.6, with weights-only loading kept on.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True`` and refuses any
pickled global that is not on its allowlist. MMEngine 0.10.7 calls ``torch.load``
without ``weights_only`` and stores its ``MessageHub`` in every checkpoint, whose
``HistoryBuffer`` objects hold NumPy arrays, so ``--resume`` fails with
``Unsupported global: GLOBAL mmengine.logging.history_buffer.HistoryBuffer``.

The fix here does *not* switch weights-only loading off. Inside
:func:`mmengine_checkpoint_globals` (entered where checkpoints are loaded, never at
import) torch's allowlist also holds exactly the types that MMEngine's own
checkpoints contain:

* ``HistoryBuffer`` and the NumPy array / scalar / dtype reconstructors its
  buffers pickle;
* ``HistoryBuffer.__getstate__`` also pickles its statistics methods
  (``min``, ``max``, ``current``, ``mean``), and the OneCycle scheduler's state
  holds its annealing function; pickle protocol 2 writes both as
  ``getattr(Class, 'name')``. Allowlisting the builtin ``getattr`` would let a
  checkpoint read any attribute of any allowlisted object, so it is instead
  replaced, under the name ``builtins.getattr``, by :func:`restricted_getattr`,
  which resolves only those named attributes of those two classes and raises for
  anything else;
* ``OneCycleParamScheduler``, the class that ``getattr`` is applied to.

Every other global in a checkpoint is still rejected, so a malicious file stays
unloadable.
"""
import contextlib
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Set

import numpy as np
import torch


def _numpy_globals() -> List[object]:
    """NumPy callables/classes that a pickled ndarray or numpy scalar refers to."""
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar  # type: ignore
    items: List[object] = [_reconstruct, scalar, np.ndarray, np.dtype]
    # dtype classes (numpy >= 1.25 pickles e.g. numpy.dtypes.Float64DType)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return items


def _allowed_attributes() -> Dict[type, Set[str]]:
    """Class -> attribute names that MMEngine checkpoints reference via ``getattr``."""
    from mmengine.logging.history_buffer import HistoryBuffer
    from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler
    return {
        # HistoryBuffer.__getstate__ stores its statistics methods
        HistoryBuffer: set(HistoryBuffer._statistics_methods) | {'min', 'max', 'current', 'mean'},
        # OneCycle schedulers store their annealing function (a staticmethod)
        OneCycleParamScheduler: {'_annealing_cos', '_annealing_linear'},
    }


def restricted_getattr(obj: object, name: str) -> object:
    """A ``getattr`` limited to the attributes MMEngine checkpoints pickle by reference.

    Stands in for ``builtins.getattr`` while unpickling weights-only checkpoints:
    protocol 2 pickles a function defined in a class (``HistoryBuffer.min``,
    ``OneCycleParamScheduler._annealing_cos``) as ``getattr(Class, 'name')``.

    Args:
        obj: ``HistoryBuffer`` or ``OneCycleParamScheduler`` (the class itself).
        name (str): One of that class's allowed attribute names (its statistics
            methods; the two annealing functions).

    Returns:
        The attribute.

    Raises:
        pickle.UnpicklingError: for any other object or attribute.
    """
    import pickle
    allowed = _allowed_attributes()
    if isinstance(obj, type) and obj in allowed and isinstance(name, str) \
            and name in allowed[obj]:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'weights-only checkpoint loading refuses getattr({obj!r}, {name!r}); allowed: '
        + '; '.join(f'{c.__name__}.{sorted(a)}' for c, a in allowed.items()))


def mmengine_safe_globals() -> List[object]:
    """The globals an MMEngine 0.10.x training checkpoint needs beyond torch's defaults.

    Returns:
        list: ``HistoryBuffer``, ``OneCycleParamScheduler``, the NumPy
        reconstructors and the restricted ``getattr`` (see module docstring).
    """
    return list(_allowed_attributes()) + [(restricted_getattr, 'builtins.getattr')] \
        + _numpy_globals()


@contextlib.contextmanager
def mmengine_checkpoint_globals() -> Iterator[None]:
    """Inside this block, ``torch.load(weights_only=True)`` also accepts MMEngine's
    checkpoint types (:func:`mmengine_safe_globals`); outside it nothing changes.

    Used where checkpoints are loaded (the runner's load/resume, teacher weights,
    the tools), so importing the package does not widen the process-wide
    allowlist. A no-op on torch < 2.5, which has no ``safe_globals``.
    """
    scope = getattr(torch.serialization, 'safe_globals', None)
    if scope is None:
        yield
        return
    with scope(mmengine_safe_globals()):
        yield


def check_file_exists(filename: str, what: str = 'checkpoint',
                      fix: Optional[str] = None) -> None:
    """Fail, naming the fix, when a local checkpoint path does not exist (URLs pass).

    Args:
        filename (str): Path or URL of the file.
        what (str): What the file is, for the error (``'teacher checkpoint'``).
        fix (str, optional): The config entry that gave ``filename``.

    Raises:
        FileNotFoundError: naming the absolute path, ``fix`` when given, and the
            ``.pth`` files that the folder does hold.
    """
    if '://' in filename or osp.isfile(filename):
        return
    hint = f'Put the file there, or fix {fix} in the config' if fix else \
        'Put the file there, or give the right path'
    folder = osp.dirname(osp.abspath(filename))
    there = sorted(f for f in os.listdir(folder) if f.endswith('.pth')) \
        if osp.isdir(folder) else []
    listing = f' {folder} holds {there}.' if there else ''
    raise FileNotFoundError(
        f'{what} "{filename}" does not exist (absolute path: {osp.abspath(filename)}).'
        f'{listing} {hint} (a relative path is resolved from the working directory).')


def read_checkpoint(filename: str, what: str = 'checkpoint', fix: Optional[str] = None,
                    map_location: str = 'cpu') -> dict:
    """A checkpoint file, read the one way the package reads them.

    The file is read by MMEngine's :class:`~mmengine.runner.CheckpointLoader` (local
    paths, ``http(s)://``, ``torchvision://``, ``open-mmlab://`` ...) inside
    :func:`mmengine_checkpoint_globals`, so weights-only loading stays on.

    Args:
        filename (str): Path or URL of the file.
        what (str): What the file is, for the error (``'teacher checkpoint'``).
        fix (str, optional): The config entry that gave ``filename``, named in the
            error.
        map_location (str): Where the tensors are loaded. Defaults to ``'cpu'``.

    Returns:
        dict: The file's content (``state_dict``, ``meta`` ..., or a bare state dict).

    Raises:
        FileNotFoundError: for a local path that does not exist
            (:func:`check_file_exists`).
    """
    check_file_exists(filename, what, fix)
    from mmengine.runner import CheckpointLoader
    with mmengine_checkpoint_globals():
        return CheckpointLoader.load_checkpoint(filename, map_location=map_location)


def state_dict_of(checkpoint: dict) -> dict:
    """The weights in a loaded checkpoint: its ``state_dict`` or ``model`` entry, or the
    checkpoint itself when it is a bare state dict, with a ``module.`` prefix (a model
    saved inside DDP) stripped as MMEngine's ``load_checkpoint`` does.

    Args:
        checkpoint (dict): What :func:`read_checkpoint` returned.

    Returns:
        dict: {parameter or buffer name: tensor}.
    """
    state = checkpoint
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), dict):
            state = checkpoint[key]
            break
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def read_state_dict(filename: str, what: str = 'checkpoint', fix: Optional[str] = None,
                    map_location: str = 'cpu') -> dict:
    """``state_dict_of(read_checkpoint(...))``: the weights of a checkpoint file.

    Args:
        filename (str): Path or URL of the file.
        what (str): What the file is, for the error.
        fix (str, optional): The config entry that gave ``filename``.
        map_location (str): Where the tensors are loaded. Defaults to ``'cpu'``.

    Returns:
        dict: {parameter or buffer name: tensor}.

    Raises:
        FileNotFoundError: for a local path that does not exist.
    """
    return state_dict_of(read_checkpoint(filename, what, fix, map_location))

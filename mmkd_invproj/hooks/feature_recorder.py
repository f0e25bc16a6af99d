# Copyright (c) mmkd-invproj authors. All rights reserved.
"""One manager for the forward hooks that capture student and teacher features.

Modelled on torchdistill's ``ForwardHookManager`` (one object owns every hook and
hands the outputs back, unwrapping DDP's ``.module``) and MMRazor's
``ModuleOutputsRecorder`` (hooks record only inside a recording window, so nothing
leaks between steps or into validation).
"""
import difflib
import logging
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor
from torch.utils._pytree import tree_leaves, tree_map

from ..utils.model_wrappers import unwrap_model


class UnknownModuleError(KeyError):
    """A hooked module name that the model does not have (a ``KeyError`` that prints
    its message unquoted)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


class TeacherEarlyExit(Exception):
    """Raised inside a hook to stop a forward once every hooked output exists."""


class FeatureModifiedError(RuntimeError):
    """A recorded feature was changed in place after its module produced it."""


def resolve_module(model: nn.Module, name: str, role: str = 'model') -> nn.Module:
    """Return ``model``'s submodule called ``name`` (as in ``named_modules()``).

    Raises:
        UnknownModuleError: (a ``KeyError``) when no such submodule exists; the
            message lists the closest valid names and says so when the name only
            exists without a wrapper prefix such as ``module.`` or ``student.``.
    """
    modules = dict(unwrap_model(model).named_modules())
    if name in modules:
        return modules[name]
    valid = [n for n in modules if n]
    hint = ''
    parts = name.split('.')
    for i in range(1, len(parts)):
        stripped = '.'.join(parts[i:])
        if stripped in modules:
            hint = (f' "{name}" carries the wrapper prefix "{".".join(parts[:i])}."; '
                    f'name modules relative to the {role} itself: "{stripped}".')
            break
    close = difflib.get_close_matches(name, valid, n=5, cutoff=0.5)
    raise UnknownModuleError(
        f'no module named "{name}" in the {role} ({type(unwrap_model(model)).__name__}).'
        f'{hint} Closest names: {close or "none"}. Names are those of '
        f'`{role}.named_modules()`, e.g. {valid[:8]}.')


def select_output(output: Any, index: Optional[Union[int, str]]) -> Any:
    """Pick one item of a module output: tuple/list by position, dict by key.

    Raises:
        TypeError: for an index into an output that is neither.
    """
    if index is None:
        return output
    if isinstance(output, (dict, list, tuple)):
        return output[index]
    raise TypeError(f'output index {index!r} given but the module returned a '
                    f'{type(output).__name__}, not a tuple/list/dict')


def _clone(x: Any) -> Any:
    return x.clone() if isinstance(x, Tensor) else x


class _Record:
    """What one hook stored: the value and the version counter of each tensor in it."""

    __slots__ = ('value', 'versions')

    def __init__(self, value: Any) -> None:
        self.value = value
        self.versions = [(t, t._version) for t in tree_leaves(value) if isinstance(t, Tensor)]

    def modified(self) -> bool:
        return any(t._version != v for t, v in self.versions)


class _Hook:
    """The forward hook of one recorded module. A callable object rather than a
    closure so that ``copy.deepcopy`` of the model rebinds it to the copied recorder."""

    def __init__(self, recorder: 'FeatureRecorder', name: str, source: str) -> None:
        self.recorder, self.name, self.source = recorder, name, source

    def __call__(self, module: nn.Module, inputs: tuple, output: Any) -> None:
        self.recorder._store(self.name, inputs[0] if self.source == 'input' else output)


class FeatureRecorder:
    """Record the outputs (or inputs) of named submodules during a forward.

    Hooks are registered once, on the unwrapped model, and store only inside a
    recording window (:meth:`run`, or ``with recorder:``); entering clears the
    previous window's features, and :meth:`clear` drops them, so no graph is held
    between steps and the model can be deep-copied at any time.

    Features are exactly what the module produced. A hook keeps a reference, not a
    copy, unless a later operation modifies that tensor in place (an in-place
    ReLU after a hooked BatchNorm): PyTorch's version counter reveals it, the module
    is then copied in its hook from that forward on (the copy is differentiable),
    and :meth:`run` repeats the forward once so that no loss ever sees the modified
    values. Modules that nothing modifies are never copied.

    With ``early_exit=True`` a forward run through :meth:`run` stops as soon as
    every recorded module has produced its output, so layers nobody reads (a
    classifier head) cost nothing.

    Args:
        model (nn.Module): The network whose submodules are hooked.
        names (Sequence[str]): Submodule names, as in ``model.named_modules()``.
        role (str): ``'student'`` or ``'teacher'``, used in messages.
        early_exit (bool): Stop the forward once all hooked outputs exist.
        sources (dict, optional): ``{name: 'output' | 'input'}``; ``'input'``
            records the module's first positional input.

    Raises:
        UnknownModuleError: (a ``KeyError``) for an unknown module name.
        ValueError: for a source other than ``'output'`` / ``'input'``.
    """

    def __init__(self, model: nn.Module, names: Sequence[str], role: str = 'model',
                 early_exit: bool = False, sources: Optional[Dict[str, str]] = None) -> None:
        self.role = role
        self.names: List[str] = []
        self.early_exit = early_exit
        self.copied: set = set()  # modules whose output is modified in place later
        self._model = unwrap_model(model)
        self._sources = dict(sources or {})
        self._features: Dict[str, _Record] = {}
        self._active = False
        self._handles = []
        for name in names:
            self.add(name, self._sources.get(name, 'output'))

    def add(self, name: str, source: str = 'output') -> None:
        """Hook one more module (a no-op for a name already hooked).

        Raises:
            UnknownModuleError: for an unknown module name.
            ValueError: for a source other than ``'output'`` / ``'input'``.
        """
        if name in self.names:
            return
        if source not in ('output', 'input'):
            raise ValueError(f"source of {name!r} must be 'output' or 'input', got {source!r}")
        module = resolve_module(self._model, name, self.role)
        self._handles.append(module.register_forward_hook(_Hook(self, name, source)))
        self.names.append(name)

    def _store(self, name: str, value: Any) -> None:
        if not self._active:
            return
        if name in self.copied:
            value = tree_map(_clone, value)
        self._features[name] = _Record(value)
        if self.early_exit and len(self._features) == len(self.names):
            raise TeacherEarlyExit

    def __enter__(self) -> 'FeatureRecorder':
        self._features = {}
        self._active = True
        return self

    def __exit__(self, *exc) -> None:
        self._active = False

    def _call(self, fn: Callable, args, kwargs) -> Any:
        with self:
            try:
                return fn(*args, **kwargs)
            except TeacherEarlyExit:
                return None

    def run(self, fn: Callable, *args, **kwargs) -> Any:
        """Call ``fn(*args, **kwargs)`` inside a recording window.

        When a recorded tensor was modified in place during the call, its module is
        marked for copying and the call is repeated once (a one-time cost; side
        effects such as BatchNorm statistics happen twice for that batch).

        Returns:
            What ``fn`` returned (None after an early exit).

        Raises:
            FeatureModifiedError: if a feature is still modified after the repeat.
        """
        result = self._call(fn, args, kwargs)
        modified = self._mark_modified()
        if modified:
            print_log(f'{self.role} module(s) {modified}: the recorded output is modified in '
                      'place by a later operation (e.g. an in-place activation); it is copied '
                      'from now on and this forward was repeated.', logger='current',
                      level=logging.INFO)
            result = self._call(fn, args, kwargs)
            still = self._mark_modified()
            if still:
                raise FeatureModifiedError(
                    f'{self.role} module(s) {still} still changed in place after copying')
        return result

    def _mark_modified(self) -> List[str]:
        modified = [n for n, r in self._features.items() if r.modified()]
        self.copied.update(modified)
        return modified

    def get(self, name: str, index: Optional[Union[int, str]] = None) -> Any:
        """The feature recorded for ``name`` in the last recording window.

        Raises:
            RuntimeError: when the hook on ``name`` did not fire (the module was not
                executed); a silent zero loss would hide the bug.
            FeatureModifiedError: when the tensor was modified in place after it was
                recorded in a bare ``with recorder:`` window (:meth:`run` repairs
                this itself); the module is copied from the next window on.
        """
        if name not in self._features:
            raise RuntimeError(
                f'the forward hook on {self.role} module "{name}" never fired in the last '
                f'forward (recorded: {sorted(self._features)}). The module is not on the '
                f'{self.role}\'s forward path for this input; hook a module that runs.')
        record = self._features[name]
        if name not in self.copied and record.modified():
            self.copied.add(name)
            raise FeatureModifiedError(
                f'the output of {self.role} module "{name}" was modified in place after it '
                'was recorded; record through FeatureRecorder.run(), which repeats the '
                'forward with a copy.')
        return select_output(record.value, index)

    def clear(self) -> None:
        """Drop the recorded features (and the autograd graph they hold)."""
        self._features = {}

    def __getstate__(self) -> dict:
        """Copies and pickles never carry recorded features (tensors inside a graph
        cannot be deep-copied)."""
        state = self.__dict__.copy()
        state['_features'] = {}
        state['_active'] = False
        return state

    def remove(self) -> None:
        """Remove every hook and forget the hooked names and recorded features.

        The recorder is then empty, as if built with no names: :meth:`add` hooks a
        module again (also one hooked before) and it records from then on.
        """
        for h in self._handles:
            h.remove()
        self._handles = []
        self.names.clear()
        self._features = {}

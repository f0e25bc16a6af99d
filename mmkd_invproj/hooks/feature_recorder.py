# Copyright (c) mmkd-invproj authors. All rights reserved.
"""One manager for the forward hooks that capture student and teacher features.

Modelled on torchdistill's ``ForwardHookManager`` (one object owns every hook and
hands the outputs back in one dict, unwrapping DDP's ``.module``) and MMRazor's
``ModuleOutputsRecorder`` (hooks record only inside a ``with recorder:`` block, so
nothing leaks between steps or into validation).
"""
import difflib
from typing import Any, Dict, List, Optional, Sequence, Union

import torch.nn as nn
from torch import Tensor


class UnknownModuleError(KeyError):
    """A hooked module name that the model does not have (a ``KeyError`` that prints
    its message unquoted)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


class TeacherEarlyExit(Exception):
    """Raised inside a hook to stop a forward once every hooked output exists."""


def unwrap_model(model: nn.Module) -> nn.Module:
    """Strip DDP-like wrappers (anything exposing ``.module``)."""
    while hasattr(model, 'module') and isinstance(model.module, nn.Module):
        model = model.module
    return model


def resolve_module(model: nn.Module, name: str, role: str = 'model') -> nn.Module:
    """Return ``model``'s submodule called ``name`` (as in ``named_modules()``).

    Raises:
        UnknownModuleError: (a ``KeyError``) when no such submodule exists. The
            message lists the closest
            valid names (and says so when the name exists only under a
            wrapper prefix such as ``module.`` or ``student.``).
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
    """Pick one tensor from a module output (tuple/list by index, dict by key)."""
    if index is None:
        return output
    if isinstance(output, dict):
        return output[index]
    if isinstance(output, (list, tuple)):
        return output[index]
    raise TypeError(f'output index {index!r} given but the module returned a '
                    f'{type(output).__name__}, not a tuple/list/dict')


class FeatureRecorder:
    """Record the outputs (or inputs) of named submodules during a forward.

    Hooks are registered once, on the unwrapped model, and store only while the
    recorder is active (``with recorder: model(x)``); entering clears the previous
    step's features. With ``early_exit=True`` the forward is interrupted by a
    :class:`TeacherEarlyExit` as soon as every recorded module has produced its
    output, so layers the distillation never reads (a classifier head, a decoder)
    cost nothing; run the forward through :meth:`run`, which swallows it.

    Args:
        model (nn.Module): The network whose submodules are hooked (the student or
            the teacher). DDP-style wrappers are unwrapped.
        names (Sequence[str]): Submodule names, as in ``model.named_modules()``.
        role (str): ``'student'`` or ``'teacher'``, used in error messages.
        early_exit (bool): Stop the forward once all hooked outputs exist.
        sources (dict, optional): ``{name: 'output' | 'input'}``; ``'input'``
            records the first positional input of the module instead of its output.

    Raises:
        UnknownModuleError: (a ``KeyError``) at construction, for an unknown module
            name (the message lists close matches).
    """

    def __init__(self, model: nn.Module, names: Sequence[str], role: str = 'model',
                 early_exit: bool = False, sources: Optional[Dict[str, str]] = None) -> None:
        self.role = role
        self.names: List[str] = list(dict.fromkeys(names))
        self.early_exit = early_exit
        self.sources = dict(sources or {})
        self._features: Dict[str, Any] = {}
        self._active = False
        self._handles = []
        for name in self.names:
            module = resolve_module(model, name, role)
            source = self.sources.get(name, 'output')
            if source not in ('output', 'input'):
                raise ValueError(f"source of {name!r} must be 'output' or 'input', got {source!r}")
            self._handles.append(module.register_forward_hook(self._make_hook(name, source)))

    def _make_hook(self, name: str, source: str):
        def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
            if not self._active:
                return
            self._features[name] = inputs[0] if source == 'input' else output
            if self.early_exit and len(self._features) == len(self.names):
                raise TeacherEarlyExit
        return hook

    def __enter__(self) -> 'FeatureRecorder':
        self._features = {}
        self._active = True
        return self

    def __exit__(self, *exc) -> None:
        self._active = False

    def run(self, fn, *args, **kwargs) -> Any:
        """Call ``fn(*args, **kwargs)`` while recording; returns None on early exit."""
        with self:
            try:
                return fn(*args, **kwargs)
            except TeacherEarlyExit:
                return None

    def get(self, name: str, index: Optional[Union[int, str]] = None) -> Tensor:
        """The feature recorded for ``name`` in the last active forward.

        Raises:
            RuntimeError: when the hook on ``name`` did not fire (the module was not
                executed in that forward); a silent zero loss would hide the bug.
        """
        if name not in self._features:
            raise RuntimeError(
                f'the forward hook on {self.role} module "{name}" never fired in the last '
                f'forward (recorded: {sorted(self._features)}). The module is not on the '
                f'{self.role}\'s forward path for this input; hook a module that runs.')
        return select_output(self._features[name], index)

    @property
    def features(self) -> Dict[str, Any]:
        """All features recorded in the last active forward (name -> output)."""
        return dict(self._features)

    def remove(self) -> None:
        """Remove every hook."""
        for h in self._handles:
            h.remove()
        self._handles = []

"""Load ``.pt`` files without executing arbitrary pickled code.

Order of attempts in :func:`load_pt`:

1. ``torch.load(weights_only=True)``: torch's own allow-list (tensors, containers).
2. A restricted unpickler (passed to ``torch.load`` as ``pickle_module``) that resolves
   only the globals torch's weights-only loader allows and maps every other class or
   function (``argparse.Namespace``, PyG ``Batch``/``Data``, ...) to an inert
   :class:`Stub` that merely records its arguments and state. Nothing from the file
   is ever called except torch's tensor-rebuild functions, so the plain tensors are
   kept and the rest becomes harmless placeholders.
3. Only with ``trust_pickle=True``: plain ``torch.load(weights_only=False)``, for
   files the user trusts and that the first two routes cannot read.
"""

from __future__ import annotations

import pickle
import types
from pathlib import Path
from typing import Any

from atomgenbench.core.errors import PredictionsError


class UnsafeFileError(PredictionsError):
    """A file that cannot be read safely (the message says what to do)."""


class Stub:
    """Inert stand-in for a class or function the file refers to."""

    __stub_name__ = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.__dict__["_args"] = args
        self.__dict__["_kwargs"] = kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> Stub:
        return _stub_class(f"{self.__stub_name__}()")(*args, **kwargs)

    def __setstate__(self, state: Any) -> None:
        self.__dict__["_state"] = state

    def __setitem__(self, key: Any, value: Any) -> None:  # SETITEMS on dict subclasses
        self.__dict__.setdefault("_items", {})[key] = value

    def append(self, value: Any) -> None:  # APPENDS on list subclasses
        self.__dict__.setdefault("_items_list", []).append(value)

    def extend(self, values: Any) -> None:
        for v in values:
            self.append(v)

    def __repr__(self) -> str:
        return f"<stub {self.__stub_name__}>"


def _stub_class(qualname: str) -> type:
    return type("Stub", (Stub,), {"__stub_name__": qualname, "__new__": lambda cls, *a, **k: object.__new__(cls)})


def _allowed_globals() -> dict[str, Any]:
    from torch import _weights_only_unpickler as wo

    return dict(wo._get_allowed_globals())


def _restricted_module() -> types.ModuleType:
    allowed = _allowed_globals()

    class RestrictedUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            key = f"{module}.{name}"
            if key in allowed:
                return allowed[key]
            return _stub_class(key)

    mod = types.ModuleType("atomgenbench_restricted_pickle")
    mod.Unpickler = RestrictedUnpickler
    mod.load = lambda fh, **kw: RestrictedUnpickler(fh, **kw).load()
    mod.__name__ = "atomgenbench_restricted_pickle"
    return mod


def load_pt(path: str | Path, *, trust_pickle: bool = False) -> Any:
    """Load a ``torch.save`` file as safely as torch allows (see the module docstring)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise UnsafeFileError(f"{path}: no such file")
    if trust_pickle:
        return torch.load(path, map_location="cpu", weights_only=False)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass
    except RuntimeError as exc:
        if "weights_only" not in str(exc).lower():
            raise UnsafeFileError(f"{path}: not a torch.save file ({exc})") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_restricted_module())
    except Exception as exc:
        raise UnsafeFileError(
            f"{path}: cannot be read without executing pickled code ({type(exc).__name__}: {exc}). "
            "If you trust this file, pass --trust-pickle."
        ) from None

"""Whether loading a file could execute code: the ``checkpoint without code`` check of ``check_runner``.

:func:`load_risk` looks at what a file is, not at its name alone: a plain pickle is safe
only if it imports and calls nothing (scanned with :mod:`pickletools`, never loaded); a
torch archive must load with ``torch.load(weights_only=True)``; a numpy file with
``allow_pickle=False``. JSON, safetensors, CSV and other data files are safe.
"""

from __future__ import annotations

import pickletools
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["load_risk"]

#: pickle opcodes that import or call something when the file is loaded
_CODE_OPCODES = {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "REDUCE", "EXT1", "EXT2", "EXT4"}


def load_risk(path: Path) -> str | None:
    """Why loading ``path`` would (or might) execute code, or ``None`` when it is safe."""
    suffix = path.suffix.lower()
    with open(path, "rb") as fh:
        head = fh.read(2)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            pickled = any(n.endswith(".pkl") for n in zf.namelist())
        if pickled:
            return _torch_problem(path)
        return _numpy_problem(path) if suffix == ".npz" else None
    if suffix == ".npy":
        return _numpy_problem(path)
    if (len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5) or suffix in (".pkl", ".pickle", ".joblib"):
        opcode = _code_opcode(path.read_bytes())
        return f"a pickle whose loading imports or calls code ({opcode}); save JSON or safetensors" if opcode else None
    return None


def _code_opcode(blob: bytes) -> str | None:
    """The first pickle opcode that imports or calls something (with its argument), or ``None``."""
    try:
        for opcode, arg, _ in pickletools.genops(blob):
            if opcode.name in _CODE_OPCODES:
                return f"{opcode.name} {arg}" if arg is not None else opcode.name
    except Exception as exc:  # not a whole pickle: it cannot be shown safe
        return f"unreadable pickle: {exc}"
    return None


def _torch_problem(path: Path) -> str | None:
    try:
        import torch
    except ImportError:
        return "a torch pickle archive, and torch is not installed to check it with weights_only=True"
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"torch.load(weights_only=True) refuses it ({first}); save tensors and plain containers only"
    return None


def _numpy_problem(path: Path) -> str | None:
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            [loaded[k] for k in loaded.files]
    except ValueError as exc:
        return f"numpy needs allow_pickle=True to load it ({exc})"
    return None

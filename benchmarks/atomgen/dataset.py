"""Load benchmark splits and give runners/evaluator one typed view of a benchmark."""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from pymatgen.core import Structure

from atomgenbench.benchmarks.atomgen.registry import BenchmarkSpec, get_spec, require_structure
from atomgenbench.benchmarks.atomgen.sources import DataError, fetch
from atomgenbench.benchmarks.atomgen.structures import parse_poscar, unescape
from atomgenbench.benchmarks.atomgen.tc import tc_table


@lru_cache(maxsize=32)
def load_splits(name: str) -> dict[str, dict[str, object]]:
    """``{split: {id: value}}`` of a benchmark json.zip (values: escaped POSCAR or float)."""
    spec = get_spec(name)
    path = fetch(spec.name)
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.namelist()
            if len(members) != 1:
                raise DataError(f"{path}: expected one JSON member, found {members}")
            data = json.loads(zf.read(members[0]))
    except (zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a benchmark json.zip ({exc})") from None
    sizes = {k: len(v) for k, v in data.items()}
    if sizes != spec.split_sizes:
        raise DataError(f"{path}: split sizes {sizes} differ from the registry's {spec.split_sizes}")
    pattern = re.compile(spec.id_pattern)
    for split, values in data.items():
        bad = next((i for i in values if not pattern.fullmatch(i)), None)
        if bad is not None:
            raise DataError(f"{path}: {split} id {bad!r} does not match the registry's pattern {spec.id_pattern}")
    return data


def test_ids(name: str) -> list[str]:
    """Test ids of a benchmark in file order."""
    return list(load_splits(name)["test"])


test_ids.__test__ = False  # not a pytest test when imported into a test module


@dataclass
class BenchmarkData:
    """A structure benchmark with parsed crystals and per-id conditioning.

    ``train``/``test`` map ids to pymatgen structures (parsed once, lazily);
    ``tc`` maps every id (train and test) to T_c in K where known.
    """

    spec: BenchmarkSpec
    raw: dict[str, dict[str, object]]
    _cache: dict[str, Structure] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def test_ids(self) -> list[str]:
        return list(self.raw["test"])

    @property
    def train_ids(self) -> list[str]:
        return list(self.raw["train"])

    def text(self, identifier: str) -> str:
        """The value stored for ``identifier``: for a structure, the *escaped* one-line POSCAR (see :meth:`poscar`)."""
        for split in self.raw.values():
            if identifier in split:
                return str(split[identifier])
        raise KeyError(identifier)

    def poscar(self, identifier: str) -> str:
        """The crystal of ``identifier`` as plain POSCAR text (real newlines), as a ``Reconstruction`` holds it."""
        return unescape(self.text(identifier))

    def structure(self, identifier: str) -> Structure:
        if identifier not in self._cache:
            self._cache[identifier] = parse_poscar(self.text(identifier))
        return self._cache[identifier]

    @property
    def train(self) -> dict[str, Structure]:
        return {i: self.structure(i) for i in self.train_ids}

    @property
    def test(self) -> dict[str, Structure]:
        return {i: self.structure(i) for i in self.test_ids}

    @cached_property
    def tc(self) -> dict[str, float]:
        return tc_table(self.spec.family)


def load_benchmark(name: str) -> BenchmarkData:
    """Structure benchmark ``name`` as :class:`BenchmarkData`."""
    spec = require_structure(name, "load_benchmark")
    return BenchmarkData(spec, load_splits(name))

"""Declarative registry of the AtomGenBench benchmark files.

One :class:`BenchmarkSpec` per leaderboard benchmark JSON at the pinned upstream
commit. Everything else in the toolkit (data layer, evaluator, packager,
validator) looks benchmarks up here instead of re-deriving names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from atomgenbench.core.errors import UsageError, did_you_mean
from atomgenbench.core.versions import LEADERBOARD_COMMIT, LEADERBOARD_REPO

#: raw files of the pinned leaderboard revision (:data:`atomgenbench.core.versions.LEADERBOARD_COMMIT`)
RAW_BASE_URL = f"https://raw.githubusercontent.com/{LEADERBOARD_REPO}/{LEADERBOARD_COMMIT}/jarvis_leaderboard"
BENCHMARK_DIR = "jarvis_leaderboard/benchmarks/AI/AtomGen"

LATTICE_PARAMS: tuple[str, ...] = ("a", "b", "c", "alpha", "beta", "gamma")

#: predictions with more atoms than this are recorded as failures (evaluate, compare, validate); the largest
#: test cell of the AtomGenBench benchmarks has far fewer, and matching cost grows steeply with the atom count
MAX_ATOMS = 200


class BenchmarkKind(str, Enum):
    """What a benchmark's values are: crystal structures (scored by RMSE) or one lattice parameter (MAE)."""

    STRUCTURE = "structure"
    FLOAT = "float"


@dataclass(frozen=True)
class BenchmarkSpec:
    """One AtomGenBench benchmark file.

    Attributes:
        name: benchmark id, ``<dataset>_<prop>`` (the json.zip stem).
        dataset: dataset token of the leaderboard file name (``dft_3d``).
        prop: property token of the leaderboard file name (``Tc_supercon_a``).
        family: dataset family shared by a structure benchmark and its lattice files.
        kind: ``"structure"`` (POSCAR values, scored by RMSE) or ``"float"`` (MAE).
        path: path of the json.zip relative to the data root (mirror/cache layout).
        sha256: checksum of the json.zip at the pinned commit.
        split_sizes: ids per split (train, [val,] test).
        id_pattern: regular expression every id matches.
        lattice_param: for float benchmarks, which lattice parameter they hold.
        structure_benchmark: for float benchmarks, the structure benchmark they derive from.
        description: one line for listings.
    """

    name: str
    dataset: str
    prop: str
    family: str
    kind: BenchmarkKind
    sha256: str
    split_sizes: dict[str, int]
    id_pattern: str
    lattice_param: str | None = None
    structure_benchmark: str | None = None
    description: str = ""

    def __hash__(self) -> int:  # dict fields are unhashable; the name identifies a spec
        return hash(self.name)

    @property
    def path(self) -> str:
        return f"{BENCHMARK_DIR}/{self.name}.json.zip"

    @property
    def url(self) -> str:
        return f"{RAW_BASE_URL}/benchmarks/AI/AtomGen/{self.name}.json.zip"

    @property
    def metric(self) -> str:
        """Leaderboard metric token: ``rmse`` for structures, ``mae`` for floats."""
        return "rmse" if self.kind == BenchmarkKind.STRUCTURE else "mae"

    @property
    def leaderboard_file(self) -> str:
        """The contribution file name this benchmark scores."""
        return f"AI-AtomGen-{self.prop}-{self.dataset}-test-{self.metric}.csv.zip"

    @property
    def test_size(self) -> int:
        return self.split_sizes["test"]

    def matches_id(self, identifier: str) -> bool:
        return re.fullmatch(self.id_pattern, identifier) is not None


_SHA = {
    "dft_3d_Tc_supercon": "ecd1cc06e819c76734072aa670aebec382bae319144ade7c4ef1885bca5c348c",
    "dft_3d_Tc_supercon_a": "b0ff08d005e8c5216a2e4cfb49324e0f48a5618b95387798efe34abe5abd764e",
    "dft_3d_Tc_supercon_b": "12a78584b20b43e533d72b9cbffc631b565332b8128b825343325980db35c901",
    "dft_3d_Tc_supercon_c": "7cbc339cf0463f3d7bfe343a6197e9d7b79af8a501a9ab86bd9331278891bb69",
    "dft_3d_Tc_supercon_alpha": "b642b4cfa294756abc3a41944bfe34fc333f09368e10fd87f47abfc6b43979d8",
    "dft_3d_Tc_supercon_beta": "18950badca8fa0712acba75d85ea353b6e8f00da8da0078e0c195df18dd22adf",
    "dft_3d_Tc_supercon_gamma": "2be7cd20bec30f961024bd7c60d34fa7c4b96c33cafef54bf1eb6c6d1e357512",
    "alex_supercon_Tc": "b777d5510f9db8579a2cc971b2a5582ba0db5e02cc9bea61c324b6b90fd8459b",
    "alex_supercon_Tc_a": "b3005b7abd9c7e2d9652d7d31545e51847971f1e2ce0e7613df26ffaa8343e68",
    "alex_supercon_Tc_b": "880c8c93f268f53a3048e20224f551dec244dba3d87cbec542610010b0145352",
    "alex_supercon_Tc_c": "5a47088304874bac3bc88b1d60cb02c8e7fc57da7b8e5d1fdba2304c1d2a92a5",
    "alex_supercon_Tc_alpha": "8ef4e393bab24278bf844717807e151db1a89e790119d8557909d99c175ee0bb",
    "alex_supercon_Tc_beta": "6309dc534660d6592002e887740c745b87210e036a501ff36e25c41352069f26",
    "alex_supercon_Tc_gamma": "3011ac0608c98bf0d10b477952f164de2ce44435ce542c7cabb05c7a266d423f",
    "carbon24_energy_per_atom": "c49ca9fa944b39008a56fa49b03f0d7c1f26775c253999b268e82d1677d09a6c",
    "perov5_heat_ref": "8528dc28a3cd282f2d6eff2ad027306e16b40a03c80b21b5f3eedd92b39d561e",
}


def _family(
    dataset: str, base_prop: str, family: str, sizes: dict[str, int], id_pattern: str, description: str
) -> list[BenchmarkSpec]:
    base = f"{dataset}_{base_prop}"
    specs = [
        BenchmarkSpec(
            base,
            dataset,
            base_prop,
            family,
            BenchmarkKind.STRUCTURE,
            _SHA[base],
            sizes,
            id_pattern,
            description=description,
        )
    ]
    for p in LATTICE_PARAMS:
        name = f"{base}_{p}"
        unit = "Å" if p in ("a", "b", "c") else "°"
        specs.append(
            BenchmarkSpec(
                name,
                dataset,
                f"{base_prop}_{p}",
                family,
                BenchmarkKind.FLOAT,
                _SHA[name],
                sizes,
                id_pattern,
                lattice_param=p,
                structure_benchmark=base,
                description=f"unreduced lattice parameter {p} ({unit}) of {base}",
            )
        )
    return specs


_SPECS: list[BenchmarkSpec] = [
    *_family(
        "dft_3d",
        "Tc_supercon",
        "dft_3d",
        {"train": 953, "test": 105},
        r"JVASP-\d+",
        "JARVIS Supercon-3D: reconstruct 105 held-out superconductors (<= 18 atoms)",
    ),
    *_family(
        "alex_supercon",
        "Tc",
        "alex_supercon",
        {"train": 7428, "test": 825},
        r"agm\d+",
        "Alexandria DS-A/B: reconstruct 825 held-out superconductors (<= 12 atoms)",
    ),
    BenchmarkSpec(
        "carbon24_energy_per_atom",
        "carbon24",
        "energy_per_atom",
        "carbon24",
        BenchmarkKind.STRUCTURE,
        _SHA["carbon24_energy_per_atom"],
        {"train": 6091, "val": 2032, "test": 2030},
        r"C-\d+-\d+-\d+",
        description="carbon24 (older benchmark, still listed)",
    ),
    BenchmarkSpec(
        "perov5_heat_ref",
        "perov5",
        "heat_ref",
        "perov5",
        BenchmarkKind.STRUCTURE,
        _SHA["perov5_heat_ref"],
        {"train": 11356, "val": 3787, "test": 3785},
        r"\d+",
        description="perov5 (excluded from upstream page rebuilds)",
    ),
]

REGISTRY: dict[str, BenchmarkSpec] = {s.name: s for s in _SPECS}

#: the two structure benchmarks an AtomGenBench contribution covers
ATOMGENBENCH_STRUCTURE: tuple[str, ...] = ("dft_3d_Tc_supercon", "alex_supercon_Tc")


class UnknownBenchmarkError(UsageError, KeyError):
    """Raised for a benchmark name that is not in the registry."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return self.args[0]


def get_spec(name: str) -> BenchmarkSpec:
    """Return the spec of benchmark ``name`` or raise :class:`UnknownBenchmarkError`."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        hint = did_you_mean(str(name), REGISTRY)
        raise UnknownBenchmarkError(f"unknown benchmark {name!r}{hint}; known benchmarks: {known}") from None


def require_structure(name: str, action: str) -> BenchmarkSpec:
    """The spec of ``name``, which must be a structure benchmark (the one guard; a :class:`UsageError` otherwise).

    ``action`` says what needs it, e.g. ``"evaluate"``: the message names the structure
    benchmark the lattice-parameter file derives from.
    """
    spec = get_spec(name)
    if spec.kind != BenchmarkKind.STRUCTURE:
        raise UsageError(
            f"{name} holds lattice parameters; {action} works on structure benchmarks "
            f"(use {spec.structure_benchmark} instead)"
        )
    return spec


def lattice_specs(structure_benchmark: str) -> list[BenchmarkSpec]:
    """The six lattice-parameter benchmarks derived from a structure benchmark (a, b, c, α, β, γ)."""
    return [s for s in _SPECS if s.structure_benchmark == structure_benchmark]


def spec_for_leaderboard_file(file_name: str) -> BenchmarkSpec | None:
    """Find the benchmark a contribution file name scores, or ``None``."""
    for spec in _SPECS:
        if spec.leaderboard_file == file_name:
            return spec
    return None

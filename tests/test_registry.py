"""The registry describes exactly the 16 AtomGenBench files of the mirror."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from atomgenbench.benchmarks.atomgen.dataset import load_splits
from atomgenbench.benchmarks.atomgen.registry import (
    ATOMGENBENCH_STRUCTURE,
    REGISTRY,
    UnknownBenchmarkError,
    get_spec,
    lattice_specs,
    spec_for_leaderboard_file,
)
from atomgenbench.benchmarks.atomgen.sources import AUX_FILES


def _sha256sums(mirror: Path) -> dict[str, str]:
    sums = {}
    for line in (mirror / "SHA256SUMS").read_text().splitlines():
        digest, path = line.split(maxsplit=1)
        sums[path.removeprefix("./")] = digest
    return sums


def test_sixteen_benchmarks():
    assert len(REGISTRY) == 16
    for base in ("dft_3d_Tc_supercon", "alex_supercon_Tc"):
        assert base in ATOMGENBENCH_STRUCTURE
        assert [s.name for s in lattice_specs(base)] == [
            f"{base}_{p}" for p in ("a", "b", "c", "alpha", "beta", "gamma")
        ]
    assert {"carbon24_energy_per_atom", "perov5_heat_ref"} <= set(REGISTRY)
    assert sum(s.kind == "structure" for s in REGISTRY.values()) == 4


def test_sha256_equal_mirror_sums(mirror):
    sums = _sha256sums(mirror)
    for spec in REGISTRY.values():
        assert spec.sha256 == sums[spec.path], spec.name
    for datafile in AUX_FILES.values():
        assert datafile.sha256 == sums[datafile.path], datafile.path


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_ids_match_pattern_and_sizes(name):
    spec = get_spec(name)
    splits = load_splits(name)
    assert {k: len(v) for k, v in splits.items()} == spec.split_sizes
    for values in splits.values():
        bad = [i for i in values if not spec.matches_id(i)]
        assert bad == [], f"{name}: {bad[:5]}"
    assert not spec.matches_id("not-an-id")


def test_lattice_files_share_ids_with_structure_file():
    for base in ATOMGENBENCH_STRUCTURE:
        ids = {k: list(v) for k, v in load_splits(base).items()}
        for spec in lattice_specs(base):
            assert {k: list(v) for k, v in load_splits(spec.name).items()} == ids
            assert spec.kind == "float" and spec.metric == "mae" and spec.structure_benchmark == base


def test_leaderboard_file_names_match_real_contributions(mirror):
    current = {p.name for p in (mirror / "jarvis_leaderboard" / "contributions").rglob("*.csv.zip")}
    legacy = {p.name for p in (mirror / "legacy_2023").rglob("*.csv.zip")}
    ours = {s.leaderboard_file for s in REGISTRY.values()}
    assert len(ours) == 16
    assert current == {s.leaderboard_file for s in REGISTRY.values() if s.family in ("dft_3d", "alex_supercon")}
    assert ours - current <= legacy
    assert get_spec("dft_3d_Tc_supercon").leaderboard_file == "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
    assert get_spec("alex_supercon_Tc_gamma").leaderboard_file == "AI-AtomGen-Tc_gamma-alex_supercon-test-mae.csv.zip"
    for spec in REGISTRY.values():
        assert spec_for_leaderboard_file(spec.leaderboard_file) is spec
    assert spec_for_leaderboard_file("AI-AtomGen-nope-test-mae.csv.zip") is None


def test_urls_are_pinned():
    spec = get_spec("perov5_heat_ref")
    assert re.fullmatch(
        r"https://raw\.githubusercontent\.com/atomgptlab/jarvis_leaderboard/7fbfa84ad19c95873112fc572ef877d7e349a3f3/"
        r"jarvis_leaderboard/benchmarks/AI/AtomGen/perov5_heat_ref\.json\.zip",
        spec.url,
    )


def test_unknown_benchmark_names_the_choices():
    with pytest.raises(UnknownBenchmarkError) as info:
        get_spec("dft_3d_Tc")
    assert "dft_3d_Tc" in str(info.value) and "alex_supercon_Tc" in str(info.value)


def test_specs_are_hashable():
    assert len({get_spec(n) for n in REGISTRY}) == 16

"""Resolution order: mirror -> cache -> download; verification of what is found."""

from __future__ import annotations

import shutil

import pytest

from atomgenbench.benchmarks.atomgen import sources
from atomgenbench.benchmarks.atomgen.sources import AUX_FILES, DataError, benchmark_file, fetch, locate, where


@pytest.fixture
def no_mirror(monkeypatch, tmp_path):
    """Empty cache, no mirror, offline."""
    monkeypatch.delenv(sources.ENV_DATA, raising=False)
    monkeypatch.setenv(sources.ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setenv(sources.ENV_OFFLINE, "1")
    return tmp_path / "cache"


def test_mirror_first(mirror):
    datafile = benchmark_file("dft_3d_Tc_supercon")
    assert fetch("dft_3d_Tc_supercon", progress=False) == mirror / datafile.path
    assert where(datafile) == ("mirror", mirror / datafile.path)


def test_cache_when_mirror_lacks_the_file(no_mirror, mirror, monkeypatch, tmp_path):
    empty = tmp_path / "empty_mirror"
    empty.mkdir()
    monkeypatch.setenv(sources.ENV_DATA, str(empty))
    datafile = benchmark_file("dft_3d_Tc_supercon_a")
    cached = no_mirror / datafile.path
    cached.parent.mkdir(parents=True)
    shutil.copyfile(mirror / datafile.path, cached)
    assert where(datafile) == ("cache", cached)
    assert fetch(datafile, progress=False) == cached


def test_corrupted_cache_copy_is_rejected(no_mirror, mirror):
    datafile = benchmark_file("dft_3d_Tc_supercon_b")
    cached = no_mirror / datafile.path
    cached.parent.mkdir(parents=True)
    data = bytearray((mirror / datafile.path).read_bytes())
    data[100] ^= 0x01
    cached.write_bytes(bytes(data))
    with pytest.raises(DataError, match="sha256 mismatch for .*dft_3d_Tc_supercon_b.json.zip"):
        locate(datafile)


def test_offline_without_mirror_names_the_file_and_remedies(no_mirror):
    with pytest.raises(DataError) as info:
        fetch("alex_supercon_Tc_c", progress=False)
    message = str(info.value)
    assert "jarvis_leaderboard/benchmarks/AI/AtomGen/alex_supercon_Tc_c.json.zip is not available" in message
    assert "ATOMGENBENCH_DATA" in message and "ATOMGENBENCH_OFFLINE" in message
    assert str(no_mirror) in message
    assert not no_mirror.exists() or not any(no_mirror.rglob("*.zip"))


def test_offline_aux_file_is_not_built(no_mirror):
    with pytest.raises(DataError, match="alexandria/DS-A.json.gz is not available"):
        fetch("alexandria_DS-A", progress=False)


@pytest.mark.parametrize("value,expected", [("1", True), ("yes", True), ("0", False), ("", False), ("false", False)])
def test_offline_flag_parsing(monkeypatch, value, expected):
    monkeypatch.setenv(sources.ENV_OFFLINE, value)
    assert sources.offline() is expected


def test_base_url_override(monkeypatch):
    monkeypatch.setenv(sources.ENV_BASE_URL, "http://127.0.0.1:1/x/")
    assert sources.base_url() == "http://127.0.0.1:1/x"
    monkeypatch.setenv(sources.ENV_BASE_URL, "")
    assert sources.base_url() == sources.RAW_BASE_URL


def test_built_file_accepted_by_content_not_bytes(no_mirror, mirror):
    """A converted T_c table with other formatting/order verifies; a changed T_c does not."""
    datafile = AUX_FILES["supercon_3d_Tc"]
    rows = (mirror / datafile.path).read_text().splitlines()
    header, body = rows[0], rows[1:]
    reformatted = [f"{jid},{float(tc):.12f}" for jid, tc in (r.split(",") for r in reversed(body))]
    cached = no_mirror / datafile.path
    cached.parent.mkdir(parents=True)
    cached.write_text("\n".join([header, *reformatted]) + "\n")
    assert sources.sha256_of(cached) != datafile.sha256
    assert fetch("supercon_3d_Tc", progress=False) == cached
    jid, tc = reformatted[0].split(",")
    reformatted[0] = f"{jid},{float(tc) + 0.01:.12f}"
    cached.write_text("\n".join([header, *reformatted]) + "\n")
    with pytest.raises(DataError, match="supercon_3d_Tc.csv"):
        fetch("supercon_3d_Tc", progress=False)


def test_benchmark_file_requires_exact_bytes(no_mirror, mirror):
    """Benchmarks have no content digest: any byte change is a mismatch."""
    datafile = benchmark_file("perov5_heat_ref")
    assert datafile.content_sha256 is None and datafile.url_path == "benchmarks/AI/AtomGen/perov5_heat_ref.json.zip"

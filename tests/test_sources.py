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


def test_mirror_that_does_not_exist_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv(sources.ENV_DATA, str(tmp_path / "typo"))
    with pytest.raises(DataError, match=r"ATOMGENBENCH_DATA=.*typo does not exist"):
        fetch("dft_3d_Tc_supercon", progress=False)
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv(sources.ENV_DATA, str(tmp_path / "afile"))
    with pytest.raises(DataError, match="is not a folder"):
        where(benchmark_file("dft_3d_Tc_supercon"))


def test_missing_message_names_only_the_settings_that_are_set(no_mirror, monkeypatch):
    monkeypatch.delenv(sources.ENV_OFFLINE)
    monkeypatch.setenv(sources.ENV_BASE_URL, "http://127.0.0.1:9/x")
    message = sources.missing_message(benchmark_file("alex_supercon_Tc"), "download failed")
    assert "ATOMGENBENCH_OFFLINE" not in message and "ATOMGENBENCH_BASE_URL (http://127.0.0.1:9/x)" in message
    assert "`atomgenbench data fetch alex_supercon_Tc`" in message and "ATOMGENBENCH_DATA is not set" in message
    monkeypatch.delenv(sources.ENV_BASE_URL)
    message = sources.missing_message(AUX_FILES["supercon_3d_Tc"], "download failed")
    assert "ATOMGENBENCH_BASE_URL" not in message and "`atomgenbench data fetch supercon_3d_Tc`" in message


def test_structure_message_names_the_unknown_symbol_plainly():
    from atomgenbench.benchmarks.atomgen.structures import StructureParseError, parse_poscar

    text = "x\n1.0\n4 0 0\n0 4 0\n0 0 4\nXx Na\n1 1\ndirect\n0 0 0 Xx\n0.5 0.5 0.5 Na\n"
    with pytest.raises(StructureParseError) as info:
        parse_poscar(text)
    assert str(info.value) == "unknown element symbol(s): Xx"

"""Conditioning data (composition + T_c per test id) and the upstream-format loaders."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure

from atomgenbench.benchmarks.atomgen import sources, upstream
from atomgenbench.benchmarks.atomgen.conditioning import TC_PROVENANCE, conditioning_for, tc_table
from atomgenbench.benchmarks.atomgen.dataset import load_benchmark, test_ids
from atomgenbench.benchmarks.atomgen.sources import AUX_FILES, DataError
from atomgenbench.benchmarks.atomgen.upstream import UpstreamError

# --------------------------------------------------------------------------- real tables


def test_tc_tables_cover_every_benchmark_id():
    dft, alex = tc_table("dft_3d"), tc_table("alex_supercon")
    assert len(dft) == 1058 and len(alex) == 7220 + 1033
    for name, table in (("dft_3d_Tc_supercon", dft), ("alex_supercon_Tc", alex)):
        data = load_benchmark(name)
        assert set(data.train_ids + data.test_ids) <= set(table)
    assert tc_table("carbon24") == {}
    assert all(t >= 0 for t in dft.values()) and max(alex.values()) < 200


def test_conditioning_composition_from_reference_poscar():
    cond = conditioning_for("dft_3d_Tc_supercon")
    assert list(cond) == test_ids("dft_3d_Tc_supercon")
    data = load_benchmark("dft_3d_Tc_supercon")
    for key, c in list(cond.items())[:20]:
        s = data.structure(key)
        assert sum(c.composition.values()) == len(s)
        assert c.composition == {el.symbol: int(n) for el, n in s.composition.items()}
        assert c.tc == tc_table("dft_3d")[key] and c.source == TC_PROVENANCE["dft_3d"]
    first = cond["JVASP-20570"]
    assert first.composition == {"Ti": 2, "Cu": 2} and first.formula == "TiCu"


def test_alexandria_records_layout(mirror):
    records = upstream.alexandria_records(mirror / "alexandria/DS-B.json.gz")
    assert len(records) == 1033 and tuple(records[0]) == upstream.ALEX_KEYS
    s = Structure.from_dict(records[0]["structure"])
    assert 1 <= len(s) <= 12


def test_pinned_supercon_url_is_the_one_jarvis_tools_uses():
    from jarvis.db.figshare import get_db_info

    url, member = get_db_info()["supercon_3d"][:2]
    assert url.rsplit("/", 1)[-1] == upstream.SUPERCON_3D_URL.rsplit("/", 1)[-1] == "38307921"
    assert member == upstream.SUPERCON_3D_MEMBER


def test_content_digests_match_mirror(mirror):
    for datafile in AUX_FILES.values():
        assert upstream.content_digest(mirror / datafile.path) == datafile.content_sha256


# --------------------------------------------------------------------------- supercon_3d records


RECORDS = [
    {"jid": "JVASP-1", "Tc": 7.639509141, "lamb": 0.8, "atoms": {}},
    {"jid": "JVASP-22", "Tc": 0.0, "wlog": 100.0},
]


def test_supercon_records_to_csv():
    text = upstream.supercon_records_to_csv(RECORDS)
    assert text == "jid,Tc\nJVASP-1,7.639509141\nJVASP-22,0.0\n"


@pytest.mark.parametrize(
    "bad,match",
    [
        ([{"Tc": 1.0}], "record 0: missing 'jid'"),
        ([{"jid": "JVASP-1"}], "record 0: None is not a number"),
        ([{"jid": "JVASP-1", "Tc": float("nan")}], "not a finite number"),
        ([RECORDS[0], RECORDS[0]], "record 1: duplicate jid JVASP-1"),
    ],
)
def test_supercon_records_errors(bad, match):
    with pytest.raises(UpstreamError, match=match):
        upstream.supercon_records_to_csv(bad)


def _supercon_zip(path: Path, records) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(upstream.SUPERCON_3D_MEMBER, json.dumps(records))
    return path


def test_supercon_zip_conversion(tmp_path):
    raw = _supercon_zip(tmp_path / "38307921", RECORDS)
    out = tmp_path / "supercon_3d_Tc.csv"
    upstream.convert("supercon_zip", raw, out)
    assert out.read_text().splitlines()[1] == "JVASP-1,7.639509141"
    with pytest.raises(UpstreamError, match="not the supercon_3d archive"):
        upstream.supercon_records_from_zip(out)


# --------------------------------------------------------------------------- Alexandria pickles


def _structure() -> Structure:
    return Structure(Lattice.cubic(3.0), ["Nb", "N"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def _pickle(path: Path, frame: pd.DataFrame) -> tuple[Path, str]:
    frame.to_pickle(path, compression="bz2")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _frame(tc_column="tc") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "mat_id": ["agm000000001", "agm000000002"],
            tc_column: [9.75, 1.5],
            "la": [0.7, 0.4],
            "wlog": [267.1, 150.0],
            "structure": [_structure(), _structure()],
            "dosef": [9.0, 2.0],
            "debye": [479.8, 300.0],
        }
    )


@pytest.mark.parametrize("tc_column", ["tc", "Tc"])
def test_pickle_to_records(tmp_path, tc_column):
    path, sha = _pickle(tmp_path / "DS-X.pk.bz2", _frame(tc_column))
    out = tmp_path / "DS-X.json.gz"
    upstream.convert("alexandria_pickle", path, out, sha256=sha)
    records = upstream.alexandria_records(out)
    assert [tuple(r) for r in records] == [upstream.ALEX_KEYS] * 2
    assert records[0]["mat_id"] == "agm000000001" and records[0]["Tc"] == 9.75
    assert Structure.from_dict(records[1]["structure"]) == _structure()


def test_pickle_is_not_unpickled_when_sha_differs(tmp_path, monkeypatch):
    path, sha = _pickle(tmp_path / "DS-X.pk.bz2", _frame())
    called = []
    monkeypatch.setattr(pd, "read_pickle", lambda *a, **k: called.append(a))
    with pytest.raises(UpstreamError, match="refusing to unpickle"):
        upstream.load_pinned_pickle(path, "0" * 64)
    with pytest.raises(UpstreamError, match="needs a pinned sha256"):
        upstream.convert("alexandria_pickle", path, tmp_path / "out.json.gz", sha256=None)
    assert called == []


def test_frame_missing_columns(tmp_path):
    with pytest.raises(UpstreamError, match=r"lacks columns \['debye'\]"):
        upstream.frame_to_records(_frame().drop(columns=["debye"]))


# --------------------------------------------------------------------------- build() over HTTP


@pytest.fixture
def served(tmp_path, monkeypatch):
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(root))  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.delenv(sources.ENV_DATA, raising=False)
    monkeypatch.delenv(sources.ENV_OFFLINE, raising=False)
    monkeypatch.setenv(sources.ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _build_setup(monkeypatch, tmp_path, key, raw_path, url, sha):
    datafile = AUX_FILES[key]
    fmt = upstream.SOURCES[datafile.path].fmt
    monkeypatch.setitem(upstream.SOURCES, datafile.path, upstream.UpstreamSource(url, sha, fmt))
    expected = tmp_path / Path(datafile.path).name
    upstream.convert(fmt, raw_path, expected, sha256=sha)
    patched = sources.DataFile(datafile.path, datafile.sha256, None, "", upstream.content_digest(expected))
    monkeypatch.setitem(AUX_FILES, key, patched)
    return patched


def test_build_supercon_through_fetch(served, tmp_path, monkeypatch):
    root, base = served
    raw = _supercon_zip(root / "38307921", RECORDS)
    _build_setup(monkeypatch, tmp_path, "supercon_3d_Tc", raw, f"{base}/38307921", None)
    path = sources.fetch("supercon_3d_Tc", progress=False)
    assert path == tmp_path / "cache/jarvis/supercon_3d_Tc.csv"
    assert path.read_text() == "jid,Tc\nJVASP-1,7.639509141\nJVASP-22,0.0\n"
    assert sources.fetch("supercon_3d_Tc", progress=False) == path  # cached, verified by content


def test_build_rejects_other_content(served, tmp_path, monkeypatch):
    root, base = served
    raw = _supercon_zip(root / "38307921", RECORDS)
    _build_setup(monkeypatch, tmp_path, "supercon_3d_Tc", raw, f"{base}/38307921", None)
    _supercon_zip(root / "38307921", [RECORDS[0]])  # upstream changed after pinning
    with pytest.raises(DataError, match="differs from the reference .*nothing was cached"):
        sources.fetch("supercon_3d_Tc", progress=False)
    assert not (tmp_path / "cache/jarvis/supercon_3d_Tc.csv").exists()


def test_build_alexandria_with_pinned_sha(served, tmp_path, monkeypatch):
    root, base = served
    raw, sha = _pickle(root / "DS-A.pk.bz2", _frame())
    _build_setup(monkeypatch, tmp_path, "alexandria_DS-A", raw, f"{base}/DS-A.pk.bz2", sha)
    path = sources.fetch("alexandria_DS-A", progress=False)
    assert [r["mat_id"] for r in upstream.alexandria_records(path)] == ["agm000000001", "agm000000002"]
    path.unlink()
    _pickle(root / "DS-A.pk.bz2", _frame().iloc[:1])  # served bytes no longer match the pin
    with pytest.raises(DataError, match="failed sha256 verification for alexandria/DS-A.json.gz"):
        sources.fetch("alexandria_DS-A", progress=False)
    assert not path.exists() and not list((tmp_path / "cache").rglob("*.pk.bz2"))

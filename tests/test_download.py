"""Real downloads over HTTP from a local server that mirrors the upstream raw layout.

The server serves the mirror's ``jarvis_leaderboard/`` folder on 127.0.0.1, so
``$ATOMGENBENCH_BASE_URL/benchmarks/AI/AtomGen/<name>.json.zip`` is laid out like
``raw.githubusercontent.com/.../<commit>/jarvis_leaderboard/...``.
"""

from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path

import pytest

from atomgenbench.benchmarks.atomgen import sources
from atomgenbench.benchmarks.atomgen.sources import DataError, benchmark_file, fetch


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves ``server.root``; counts GETs; ``server.truncate`` names files cut off half-way."""

    def __init__(self, request, client_address, server):
        super().__init__(request, client_address, server, directory=str(server.root))

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        name = self.path.rsplit("/", 1)[-1]
        if name in self.server.truncate:
            body = (Path(self.server.root) / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def server(mirror, monkeypatch, tmp_path):
    """An HTTP server on an ephemeral port serving a copy of the mirror's jarvis_leaderboard/."""
    root = tmp_path / "served"
    shutil.copytree(mirror / "jarvis_leaderboard" / "benchmarks", root / "benchmarks")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.root, httpd.requests, httpd.truncate = root, [], set()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.delenv(sources.ENV_DATA, raising=False)
    monkeypatch.delenv(sources.ENV_OFFLINE, raising=False)
    monkeypatch.setenv(sources.ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setenv(sources.ENV_BASE_URL, f"http://127.0.0.1:{httpd.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _cached_files(tmp_path: Path) -> list[Path]:
    cache = tmp_path / "cache"
    return sorted(p for p in cache.rglob("*") if p.is_file()) if cache.exists() else []


def test_download_verifies_then_cache_hit(server, tmp_path, mirror):
    datafile = benchmark_file("dft_3d_Tc_supercon")
    path = fetch("dft_3d_Tc_supercon", progress=True)
    assert path == tmp_path / "cache" / datafile.path
    assert path.read_bytes() == (mirror / datafile.path).read_bytes()
    assert server.requests == ["/benchmarks/AI/AtomGen/dft_3d_Tc_supercon.json.zip"]
    assert fetch("dft_3d_Tc_supercon", progress=False) == path
    assert len(server.requests) == 1, "second call must be a cache hit"
    assert _cached_files(tmp_path) == [path]


def test_corrupted_download_rejected_and_not_cached(server, tmp_path):
    served = server.root / "benchmarks/AI/AtomGen/alex_supercon_Tc_a.json.zip"
    data = bytearray(served.read_bytes())
    data[len(data) // 2] ^= 0xFF
    served.write_bytes(bytes(data))
    with pytest.raises(
        DataError, match="failed sha256 verification for .*alex_supercon_Tc_a.json.zip.*nothing was cached"
    ):
        fetch("alex_supercon_Tc_a", progress=False)
    assert len(server.requests) == 1
    assert _cached_files(tmp_path) == []


def test_interrupted_transfer_not_cached(server, tmp_path):
    server.truncate.add("dft_3d_Tc_supercon_c.json.zip")
    with pytest.raises(DataError, match="dft_3d_Tc_supercon_c.json.zip is not available: download from .* failed"):
        fetch("dft_3d_Tc_supercon_c", progress=False)
    assert server.requests, "the server was asked"
    assert _cached_files(tmp_path) == []
    server.truncate.clear()
    assert fetch("dft_3d_Tc_supercon_c", progress=False).is_file()  # a later good transfer works


def test_missing_upstream_file_is_a_clear_error(server, tmp_path):
    (server.root / "benchmarks/AI/AtomGen/perov5_heat_ref.json.zip").unlink()
    with pytest.raises(DataError, match="perov5_heat_ref.json.zip is not available: download from http://127"):
        fetch("perov5_heat_ref", progress=False)
    assert _cached_files(tmp_path) == []


def test_offline_refuses_to_download(server, monkeypatch):
    monkeypatch.setenv(sources.ENV_OFFLINE, "1")
    with pytest.raises(DataError, match="ATOMGENBENCH_OFFLINE"):
        fetch("dft_3d_Tc_supercon", progress=False)
    assert server.requests == []

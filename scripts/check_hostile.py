#!/usr/bin/env python
"""Hostile inputs against every entry point: peak memory, wall time, exit code and message.

Builds a corpus of small files that try to exhaust time or memory, or to crash a command
(huge, needle, flat and dense cells, zip bombs, giant header lines and fields, cells with
hundreds of thousands of atoms in POSCAR, CIF and extxyz, nested-JSON bombs, a huge
metadata.json, a million unknown ids), from the data mirror and the committed CDVAE folder.
It runs each through the CLI commands that read it (evaluate, compare, validate, package,
import, submit --dry-run) as a subprocess on all cores (``-j 2`` on this machine) and records
the peak resident memory of the whole process tree (the command and its scoring workers,
sampled every 20 ms with psutil), the wall time, the exit code, the number of stderr lines
and whether a traceback appeared.

Limits (issue 31): every command below 2 GB of RSS and 60 s, exit 0, 1 or 2, no traceback,
an error on a single line. Prints a markdown table (the one in docs/results.md) and exits 1
when any row breaks a limit::

    ATOMGENBENCH_DATA=../shared/data python scripts/check_hostile.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import psutil

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.benchmarks.atomgen.sources import mirror_dir
from atomgenbench.benchmarks.atomgen.structures import escape
from atomgenbench.core.archives import MAX_MEMBER_BYTES

REPO = Path(__file__).resolve().parents[1]
BENCH = "dft_3d_Tc_supercon"
RMSE = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
FOLDER = REPO / "submissions" / "atomgenbench-cdvae-cpu"
MAX_RSS_MB, MAX_SECONDS = 2048, 60.0
KILL_AFTER = 180.0  # a command still running then is killed (and reported far over the limit)
KILL_RSS_MB = 3 * MAX_RSS_MB  # ... and one past this, before it takes the machine down


@dataclass
class Case:
    name: str
    what: str
    args: list[str]


def poscar(lattice: list[list[float]], species: list[str], counts: list[int], frac) -> str:
    lines = ["hostile", "1.0", *(" ".join(f"{x:g}" for x in row) for row in lattice)]
    lines += [" ".join(species), " ".join(map(str, counts)), "direct"]
    lines += [" ".join(f"{x:.6f}" for x in site) for site in frac]
    return "\n".join(lines) + "\n"


def cell(a: float, b: float, c: float, species=("Ti", "Cu"), counts=(2, 2)) -> str:
    n = sum(counts)
    frac = [((i * 0.37) % 1, (i * 0.61) % 1, (i * 0.13) % 1) for i in range(n)]
    return poscar([[a, 0, 0], [0, b, 0], [0, 0, c]], list(species), list(counts), frac)


def many_atoms(n: int) -> str:
    """A cubic P1 cell of ``n`` Cu atoms at a sane density (about 12 Å^3 per atom)."""
    side = (12.0 * n) ** (1 / 3)
    k = round(n ** (1 / 3)) + 1
    frac = [((i % k) / k, (i // k % k) / k, (i // (k * k)) / k) for i in range(n)]
    return poscar([[side, 0, 0], [0, side, 0], [0, 0, side]], ["Cu"], [n], frac)


def csv_rows(data, replace: dict[int, str]) -> str:
    """The benchmark's test crystals as a leaderboard csv, rows ``replace`` swapped for hostile POSCARs."""
    lines = ["id,target,prediction"]
    for i, key in enumerate(data.test_ids):
        text = replace.get(i, data.text(key))
        lines.append(f"{key},x,{escape(text) if i in replace else text}")
    return "\n".join(lines) + "\n"


def zipped(path: Path, member: str, payload: bytes | str) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, payload)
    return path


def folder_with(root: Path, name: str, rmse_payload: bytes | str | None = None, metadata: str | None = None) -> Path:
    """A copy of the committed CDVAE folder with its dft_3d structure file or metadata.json replaced."""
    out = root / name
    shutil.copytree(FOLDER, out)
    if rmse_payload is not None:
        zipped(out / RMSE, RMSE.removesuffix(".zip"), rmse_payload)
    if metadata is not None:
        (out / "metadata.json").write_text(metadata, encoding="utf-8")
    return out


def files(root: Path) -> dict[str, Path]:
    """Write the hostile corpus under ``root``; name -> path."""
    data = load_benchmark(BENCH)
    huge = cell(10000.0, 3.12, 3.12)
    out: dict[str, Path] = {}

    def put(name: str, text: str) -> Path:
        out[name] = root / name
        out[name].write_text(text, encoding="utf-8")
        return out[name]

    put("huge-cell.csv", csv_rows(data, {0: huge}))
    put("two-huge-cells.csv", csv_rows(data, {0: huge, 1: cell(3.12, 9000.0, 3.12)}))
    put("needle-flat-dense.csv", csv_rows(data, {0: cell(400, 1, 1), 1: cell(4, 4, 1e-3), 2: cell(0.3, 0.3, 0.3)}))
    put("many-atoms.csv", csv_rows(data, {0: many_atoms(5000), 1: many_atoms(100_000)}))
    put("huge-header.csv", "id" + "x" * 10_000_000 + ",target,prediction\n")
    put("huge-field.csv", f"id,target,prediction\n{data.test_ids[0]},x,{'9' * 50_000_000}\n")
    put("million-unknown-ids.csv", "id,target,prediction\n" + "".join(f"NOPE-{i},x,y\n" for i in range(1_000_000)))
    put("nested.json", "[" * 200_000 + "]" * 200_000)
    put("big-p1.cif", cif_p1(200_000))
    put("laughs.yaml", yaml_bomb())
    (cifs2 := root / "cif-symmetry").mkdir()
    (cifs2 / f"{data.test_ids[0]}.cif").write_text(cif_general(100), encoding="utf-8")
    out["cif-symmetry"] = cifs2
    put("deep.yaml", "a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    report = root / "report-nested"
    report.mkdir()
    (report / "metrics.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    out["report-nested"] = report
    put("big-frame.extxyz", extxyz(300_000))
    out["bomb.csv.zip"] = zipped(
        root / "bomb.csv.zip", "p.csv", b"id,target,prediction\n" + b"a" * (MAX_MEMBER_BYTES + 10)
    )
    out["huge-cell.csv.zip"] = zipped(root / "huge-cell.csv.zip", "p.csv", csv_rows(data, {0: huge}))
    cifs = root / "cif-folder"
    cifs.mkdir()
    (cifs / f"{data.test_ids[0]}.cif").write_text(cif_p1(200_000), encoding="utf-8")
    out["cif-folder"] = cifs
    out["folder-huge-cell"] = folder_with(root, "folder-huge-cell", rmse_payload=huge_member(FOLDER / RMSE, huge))
    bomb = b"id,target,prediction\n" + b"a" * (MAX_MEMBER_BYTES + 10)
    out["folder-bomb"] = folder_with(root, "folder-bomb", rmse_payload=bomb)
    meta = json.loads((FOLDER / "metadata.json").read_text(encoding="utf-8"))
    meta["description"] = "x" * 60_000_000
    out["folder-huge-metadata"] = folder_with(root, "folder-huge-metadata", metadata=json.dumps(meta))
    return out


def huge_member(path: Path, huge: str) -> str:
    """The structure file of ``path`` with its fourth row's prediction swapped for ``huge``."""
    with zipfile.ZipFile(path) as zf:
        lines = zf.read(zf.namelist()[0]).decode().split("\n")
    key, target, _ = lines[3].split(",")
    lines[3] = f"{key},{target},{escape(huge)}"
    return "\n".join(lines)


def yaml_bomb(levels: int = 9) -> str:
    """Billion laughs: nine aliases of nine, 387 million strings once expanded."""
    lines = ["author_email: lab@uni-crystal.edu", "project_url: https://arxiv.org/abs/2110.06197"]
    lines.append("model_name: &a0 lol")
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines.append(f"description: *a{levels}")
    return "\n".join(lines) + "\n"


def cif_general(n: int) -> str:
    """``n`` sites at general positions of Fm-3m (192 operations): 192 n atoms once expanded."""
    text = cif_p1(n).replace("'P 1'", "'F m -3 m'")
    head, rows = text.split("_atom_site_fract_z\n")
    coords = [f"Cu{i} Cu {0.0137 * i % 0.25:.5f} {0.0291 * i % 0.25:.5f} {0.0413 * i % 0.25:.5f}" for i in range(n)]
    return head + "_atom_site_fract_z\n" + "\n".join(coords) + "\n"


def cif_p1(n: int) -> str:
    side = (12.0 * n) ** (1 / 3)
    head = [
        "data_hostile",
        "_symmetry_space_group_name_H-M 'P 1'",
        *(f"_cell_length_{x} {side:.4f}" for x in "abc"),
        *(f"_cell_angle_{x} 90" for x in ("alpha", "beta", "gamma")),
        "loop_",
        "_atom_site_label",
        "_atom_site_type_symbol",
        "_atom_site_fract_x",
        "_atom_site_fract_y",
        "_atom_site_fract_z",
    ]
    k = round(n ** (1 / 3)) + 1
    rows = [f"Cu{i} Cu {(i % k) / k:.5f} {(i // k % k) / k:.5f} {(i // (k * k)) / k:.5f}" for i in range(n)]
    return "\n".join(head + rows) + "\n"


def extxyz(n: int) -> str:
    side = (12.0 * n) ** (1 / 3)
    head = f'{n}\nLattice="{side} 0 0 0 {side} 0 0 0 {side}" Properties=species:S:1:pos:R:3 pbc="T T T"'
    return (
        head + "\n" + "".join(f"Cu {i % 97 * 0.1:.3f} {i % 89 * 0.1:.3f} {i % 83 * 0.1:.3f}\n" for i in range(n)) + "\n"
    )


def _evaluate_cases(f: dict[str, Path], out: Path) -> list[Case]:
    ev = ["evaluate", "-b", BENCH, "-j", "2", "--n-bootstrap", "50", "--force", "-o"]
    return [
        Case(name, what, [*ev, str(out / name), str(f[key])])
        for name, key, what in (
            ("evaluate-huge-cell", "huge-cell.csv", "one 10,000 Å lattice vector (once 70 s, 15 GB)"),
            ("evaluate-two-huge", "two-huge-cells.csv", "two such rows, -j 2"),
            ("evaluate-needle-flat-dense", "needle-flat-dense.csv", "400:1 needle, flat cell, 0.03 Å^3/atom"),
            ("evaluate-many-atoms", "many-atoms.csv", "rows of 5,000 and 100,000 atoms"),
            ("evaluate-zip-huge-cell", "huge-cell.csv.zip", "the huge cell inside a .csv.zip"),
            ("evaluate-bomb", "bomb.csv.zip", "1 MB zip that unpacks past the member cap"),
            ("evaluate-huge-header", "huge-header.csv", "a 10 MB header line"),
            ("evaluate-huge-field", "huge-field.csv", "a 50 MB prediction field"),
            ("evaluate-unknown-ids", "million-unknown-ids.csv", "1,000,000 rows of unknown ids"),
            ("evaluate-nested-json", "nested.json", "200,000 nested JSON lists"),
            ("evaluate-big-cif", "big-p1.cif", "one CIF of 200,000 atoms"),
            ("evaluate-cif-folder", "cif-folder", "a folder with that CIF named by a test id"),
            ("evaluate-cif-symmetry", "cif-symmetry", "100 general sites of Fm-3m (19,200 atoms; once 21 s)"),
            ("evaluate-big-extxyz", "big-frame.extxyz", "one extxyz frame of 300,000 atoms"),
        )
    ]


def _package_args(predictions: Path, out: Path) -> list[str]:
    who = ["--model-name", "Hostile", "--author-email", "lab@uni-crystal.edu"]
    return ["package", "--dft-3d", str(predictions), *who, "--project-url", "https://arxiv.org/abs/2110.06197",
            "--out", str(out)]  # fmt: skip


def cases(f: dict[str, Path], out: Path) -> list[Case]:
    data = mirror_dir() or REPO.parent / "shared" / "data"  # the project's own reading of ATOMGENBENCH_DATA
    partner = data / "jarvis_leaderboard" / "contributions" / "cdvae_invatoms" / RMSE
    cmp = ["compare", "-b", BENCH, "-j", "2", "--force", "-o"]
    meta = ["package", "--dft-3d", str(partner), "--metadata"]
    return _evaluate_cases(f, out) + [
        Case("compare-bomb", "the zip bomb beside an official file",
             [*cmp, str(out / "compare-bomb"), str(f["bomb.csv.zip"]), str(partner)]),
        Case("compare-huge-cell", "the huge cell beside an official file",
             [*cmp, str(out / "compare-huge"), str(f["huge-cell.csv"]), str(partner)]),
        Case("validate-huge-cell", "committed folder, one row a huge cell",
             ["validate", "-j", "2", str(f["folder-huge-cell"])]),
        Case("validate-bomb", "committed folder, structure file a zip bomb",
             ["validate", "-j", "2", str(f["folder-bomb"])]),
        Case("validate-huge-metadata", "committed folder, 60 MB metadata.json",
             ["validate", "--no-scores", str(f["folder-huge-metadata"])]),
        Case("submit-dry-run-huge-cell", "submit --dry-run of the huge-cell folder",
             ["submit", "--dry-run", "-j", "2", "--fork", str(out / "no-fork"), str(f["folder-huge-cell"])]),
        Case("package-huge-cell", "package predictions with a huge cell",
             _package_args(f["huge-cell.csv"], out / "pkg")),
        Case("package-many-atoms", "package predictions with 100,000-atom rows",
             _package_args(f["many-atoms.csv"], out / "pkg2")),
        Case("package-yaml-bomb", "metadata YAML of a billion laughs",
             [*meta, str(f["laughs.yaml"]), "--out", str(out / "pkg3")]),
        Case("package-deep-yaml", "metadata YAML nested 100,000 deep",
             [*meta, str(f["deep.yaml"]), "--out", str(out / "pkg4")]),
        Case("report-nested-json", "a result folder whose metrics.json nests 200,000 deep",
             ["report", str(f["report-nested"]), "-o", str(out / "report.html")]),
        Case("import-atomgpt-bomb", "import atomgpt of the zip bomb",
             ["import", "atomgpt", str(f["bomb.csv.zip"]), "-b", BENCH, "--out", str(out / "imp")]),
    ]  # fmt: skip


def measure(args: list[str]) -> dict:
    """Run ``atomgenbench ARGS``; peak RSS of its process tree (MB), wall seconds, exit code, stderr."""
    env = {**os.environ, "ATOMGENBENCH_DEBUG": "", "TQDM_DISABLE": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "atomgenbench", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    root, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        if time.perf_counter() - start > KILL_AFTER or peak > KILL_RSS_MB * 2**20:
            for p in [*root.children(recursive=True), root]:
                p.kill()
        time.sleep(0.02)
    stdout, stderr = proc.communicate()
    err = stderr.decode("utf-8", "replace").strip()
    return {
        "rc": proc.returncode,
        "seconds": time.perf_counter() - start,
        "rss_mb": peak / 2**20,
        "stderr_lines": len(err.splitlines()),
        "traceback": "Traceback" in err or "Traceback" in stdout.decode("utf-8", "replace"),
        "message": (err.splitlines() or stdout.decode("utf-8", "replace").strip().splitlines() or [""])[-1][:110],
    }


def verdict(r: dict) -> str:
    bad = []
    if r["rss_mb"] > MAX_RSS_MB:
        bad.append("memory")
    if r["seconds"] > MAX_SECONDS:
        bad.append("time")
    if r["rc"] not in (0, 1, 2):
        bad.append(f"exit {r['rc']}")
    if r["traceback"]:
        bad.append("traceback")
    return ", ".join(bad) or "ok"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=None, help="run only these case names")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = ap.parse_args()
    failed, rows = 0, []
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        corpus = files(root / "in")
        print(f"{psutil.cpu_count()} cores; limits {MAX_RSS_MB} MB RSS (process tree), {MAX_SECONDS:g} s\n")
        print("| case | input | exit | wall (s) | peak RSS (MB) | stderr lines | verdict | last line |")
        print("|---|---|---|---|---|---|---|---|")
        for case in cases(corpus, root / "out"):
            if args.only and case.name not in args.only:
                continue
            r = measure(case.args)
            v = verdict(r)
            failed += v != "ok"
            rows.append({"case": case.name, "what": case.what, **r, "verdict": v})
            msg = r["message"].replace("|", "\\|").replace(tmp, "…")
            print(
                f"| {case.name} | {case.what} | {r['rc']} | {r['seconds']:.1f} | {r['rss_mb']:.0f} | "
                f"{r['stderr_lines']} | {v} | {msg} |",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print(f"\n{len(rows)} cases, {failed} over a limit")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

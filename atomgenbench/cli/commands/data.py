"""``atomgenbench data``: list, fetch, inspect and check the benchmark data."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

import click

from atomgenbench.benchmarks.atomgen import sources
from atomgenbench.benchmarks.atomgen.check import DEFAULT_TOLERANCES, ordered_splits
from atomgenbench.cli.options import emit, json_option
from atomgenbench.core.errors import DataError

log = logging.getLogger("atomgenbench")


@click.group()
def data() -> None:
    """List, fetch, inspect and check the benchmark data.

    Files are read from the mirror folder named by ATOMGENBENCH_DATA, else the user
    cache (ATOMGENBENCH_CACHE overrides its location), else downloaded from the
    pinned upstream commit (ATOMGENBENCH_BASE_URL overrides the base URL) and
    verified by sha256 before they enter the cache. ATOMGENBENCH_OFFLINE=1 forbids
    downloads.
    """


# --------------------------------------------------------------------------- list


@data.command("list")
@json_option()
def list_(as_json: bool) -> None:
    """Every benchmark: split sizes, kind, leaderboard file and whether it is mirrored/cached.

    Status is where the file would be read from (mirror, cache or missing); it is
    not verified here — `data fetch` verifies checksums. Offline
    (ATOMGENBENCH_OFFLINE set) a missing file cannot be downloaded, so the listing
    then exits 1 with the ways to provide it.
    """
    from atomgenbench.benchmarks.atomgen.check import data_status

    rows = data_status()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        _require_local(rows)
        return
    click.echo(f"{'benchmark':<28} {'kind':<9} {'splits (train/val/test)':<24} {'status':<8} leaderboard file")
    for r in rows["benchmarks"]:
        sizes = "/".join(str(v) for k, v in ordered_splits(r["split_sizes"]))
        click.echo(f"{r['name']:<28} {r['kind']:<9} {sizes:<24} {r['status']:<8} {r['leaderboard_file']}")
    click.echo("\nconditioning files:")
    for r in rows["aux"]:
        click.echo(f"{r['name']:<28} {r['file']:<28} {r['status']:<8} {r['description']}")
    _require_local(rows)


def _require_local(rows: dict[str, list[dict]]) -> None:
    """Offline, a missing file cannot be had at all: say how to get it (exit 1)."""
    missing = [r["name"] for group in rows.values() for r in group if r["status"] == "missing"]
    if not missing:
        return
    hint = (
        f"Point {sources.ENV_DATA} at a data mirror folder, or run `atomgenbench data fetch --all` "
        f"{sources.download_condition()} to download and verify them into the cache ({sources.cache_dir()})"
    )
    if sources.offline():
        raise sources.DataMissingError(
            f"{len(missing)} of {sum(map(len, rows.values()))} data files are neither mirrored nor cached, and "
            f"downloads are disabled ({sources.ENV_OFFLINE} is set). {hint}."
        )
    log.info("\n%d file(s) missing: they are downloaded when first needed. %s.", len(missing), hint)


# --------------------------------------------------------------------------- fetch


@data.command("fetch")
@click.argument("names", nargs=-1)
@click.option("--all", "fetch_all", is_flag=True, help="Every benchmark and conditioning file.")
@click.option(
    "--contributions",
    is_flag=True,
    help="The three official contribution folders (atomgpt/cdvae/flowmm_invatoms: 14 csv.zip files and "
    "metadata.json each) of the pinned leaderboard revision, to validate and compare against.",
)
@json_option("the verified files")
def fetch(names: tuple[str, ...], fetch_all: bool, contributions: bool, as_json: bool) -> None:
    """Fetch benchmark files (NAME: a benchmark or conditioning file of `data list`) and verify them.

    Every file's sha256 is checked (a converted conditioning file by its content).
    Exits non-zero, naming the file, when any file is corrupted or unavailable.
    """
    from tqdm import tqdm

    from atomgenbench.benchmarks.atomgen.contributions import CONTRIBUTION_SHA256, contribution_files
    from atomgenbench.core.output import bar

    if (fetch_all and names) or not (fetch_all or names or contributions):
        raise click.UsageError("give one or more benchmark names, or --all (and/or --contributions)")
    files = sources.all_files() if fetch_all else [_datafile(n) for n in names]
    files += contribution_files() if contributions else []
    failures: list[str] = []
    verified: dict[str, str] = {}
    missing = False
    for datafile in bar(files, desc="verifying", unit="file", leave=False):
        try:
            path = sources.fetch(datafile)
        except DataError as exc:
            failures.append(datafile.path)
            missing = missing or isinstance(exc, sources.DataMissingError)
            tqdm.write(f"FAILED {datafile.path}: {exc}", file=click.get_text_stream("stderr"))
            continue
        verified[datafile.path] = str(path)
        if not as_json:
            tqdm.write(f"ok     {datafile.path}  ({path})")
    if failures:
        message = f"{len(failures)} of {len(files)} file(s) failed: {', '.join(failures)}"
        if missing:
            raise sources.DataMissingError(
                f"{message}. Point {sources.ENV_DATA} at a data mirror folder that holds them, or rerun "
                f"`atomgenbench data fetch` {sources.download_condition()} (each file's reason is printed above)."
            )
        raise DataError(message)
    folders = (
        {name: str(sources.fetch(contribution_files(name)[0]).parent) for name in CONTRIBUTION_SHA256}
        if contributions
        else {}
    )
    lines = [f"all {len(files)} file(s) verified"]
    lines += [f"contribution {name}: {folder}" for name, folder in folders.items()] if contributions else []
    emit(as_json, {"verified": verified, "contributions": folders}, lines)


def _datafile(name: str) -> sources.DataFile:
    """A benchmark or conditioning file by name (unknown names: a usage error with the choices)."""
    from atomgenbench.benchmarks.atomgen.registry import REGISTRY
    from atomgenbench.core.errors import UsageError, did_you_mean

    if name in sources.AUX_FILES or name in REGISTRY:
        return sources.resolve(name)
    choices = [*REGISTRY, *sources.AUX_FILES]
    raise UsageError(
        f"unknown benchmark {name!r}{did_you_mean(name, choices)}; see `atomgenbench data list` "
        f"(conditioning files: {', '.join(sources.AUX_FILES)})"
    )


# --------------------------------------------------------------------------- show


@data.command("show")
@click.argument("name")
@json_option()
def show(name: str, as_json: bool) -> None:
    """Counts, elements, atoms per cell and T_c range/coverage of benchmark NAME.

    For a lattice-parameter benchmark: the value range per split.
    """
    from atomgenbench.benchmarks.atomgen.check import benchmark_info

    info = benchmark_info(name, progress=not as_json)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"{info['name']} ({info['kind']}, family {info['family']}) -> {info['leaderboard_file']}")
    click.echo("splits: " + ", ".join(f"{k} {v}" for k, v in ordered_splits(info["splits"])))
    fmt = lambda d: f"{d['min']:.4g} / {d['median']:.4g} / {d['max']:.4g}" if d else "-"  # noqa: E731
    for key, label in (
        ("values", "value min/median/max"),
        ("atoms_per_cell", "atoms per cell min/median/max"),
        ("tc", "T_c (K) min/median/max"),
    ):
        for split, d in info.get(key, {}).items():
            extra = f"  ({d['covered']}/{d['of']} ids have T_c)" if key == "tc" else ""
            click.echo(f"{label:<32} {split:<6} {fmt(d)}{extra}")
    if "elements" in info:
        top = ", ".join(f"{el} {n}" for el, n in list(info["elements"].items())[:15])
        click.echo(f"elements: {len(info['elements'])} distinct; most frequent (crystals): {top}")
    if "tc_source" in info:
        click.echo(f"T_c source: {info['tc_source']}")


# --------------------------------------------------------------------------- check


@data.command("check")
@click.argument("name")
@click.option("--ltol", default=DEFAULT_TOLERANCES["ltol"], show_default=True, help="StructureMatcher ltol.")
@click.option("--stol", default=DEFAULT_TOLERANCES["stol"], show_default=True, help="StructureMatcher stol.")
@click.option(
    "--angle-tol",
    default=DEFAULT_TOLERANCES["angle_tol"],
    show_default=True,
    help="StructureMatcher angle_tol (degrees).",
)
@json_option()
def check(name: str, ltol: float, stol: float, angle_tol: float, as_json: bool) -> None:
    """Test crystals of NAME that duplicate training crystals, and ids missing T_c.

    Duplicates: pymatgen StructureMatcher (defaults ltol=0.2, stol=0.3,
    angle_tol=5), comparing only crystals of the same reduced formula. Also lists
    groups of test crystals that duplicate each other.
    """
    from atomgenbench.benchmarks.atomgen.check import check_benchmark

    report = check_benchmark(name, ltol=ltol, stol=stol, angle_tol=angle_tol, progress=not as_json)
    if as_json:
        click.echo(json.dumps(asdict(report), indent=2))
        return
    tol = ", ".join(f"{k}={v:g}" for k, v in report.tolerances.items())
    click.echo(
        f"{report.name}: {report.test_size} test vs {report.train_size} train crystals "
        f"(StructureMatcher {tol}; compared within reduced formula)"
    )
    click.echo(f"test crystals whose reduced formula occurs in train: {report.test_formula_in_train}")
    click.echo(f"test crystals duplicating a training crystal: {len(report.duplicates)}")
    for key, hits in report.duplicates.items():
        click.echo(f"  {key} == {', '.join(hits)}")
    n_int = sum(len(g) for g in report.test_internal_duplicates)
    click.echo(f"groups of duplicate crystals within test: {len(report.test_internal_duplicates)} ({n_int} crystals)")
    for group in report.test_internal_duplicates:
        click.echo(f"  {' == '.join(group)}")
    if not report.tc_source:
        click.echo("conditioning: no T_c table for this dataset family")
        return
    for split, missing in report.missing_tc.items():
        shown = ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
        click.echo(f"{split} ids without T_c: {len(missing)}" + (f" ({shown})" if missing else ""))
    click.echo(f"T_c source: {report.tc_source}")


# --------------------------------------------------------------------------- export


@data.command("export")
@click.argument("name")
@click.option("--split", default="test", show_default=True, help="Split to export (train, val or test).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "cif", "extxyz", "json"]),
    default="csv",
    show_default=True,
    help="csv/json: one table of ids and conditioning; extxyz: one frame per id; cif: one file per id.",
)
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option(
    "--with-structures",
    is_flag=True,
    help="Also write the reference structures (csv, json; cif and extxyz always have them).",
)
@json_option("what was written")
def export(name: str, split: str, fmt: str, out: str, with_structures: bool, as_json: bool) -> None:
    """Write the ids of NAME's split, the conditioning each model gets and optionally the structures.

    Rows are in the benchmark's order (the order --in-test-order assumes): id, reduced
    formula, composition of the reference cell, atom count and T_c (K, empty where
    unknown). Formats: csv and json (one file), extxyz (one frame per id, ids in
    info), cif (one file per id plus conditioning.csv). See docs/inputs.md.
    """
    from atomgenbench.benchmarks.atomgen.export import export_split

    try:
        result = export_split(name, out, split=split, fmt=fmt, with_structures=with_structures)
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot write the export ({exc.strerror or exc})") from None
    shown = result.files[0] if len(result.files) == 1 else f"{out} ({len(result.files)} files)"
    lines = [f"wrote {result.n} {name} {split} ids to {shown}"]
    lines += [f"T_c source: {result.tc_source}"] if result.tc_source else []
    doc = {"benchmark": name, "split": split, "n": result.n, "files": [str(f) for f in result.files]}
    emit(as_json, {**doc, "tc_source": result.tc_source}, lines)

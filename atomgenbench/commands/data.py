"""``atomgenbench data``: list, fetch, inspect and check the benchmark data."""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

import click

from atomgenbench.benchmarks.atomgen import sources
from atomgenbench.benchmarks.atomgen.registry import REGISTRY, BenchmarkSpec, UnknownBenchmarkError, get_spec

#: StructureMatcher tolerances of `data check` (pymatgen's defaults)
DEFAULT_TOLERANCES = {"ltol": 0.2, "stol": 0.3, "angle_tol": 5.0}


def _spec(name: str) -> BenchmarkSpec:
    try:
        return get_spec(name)
    except UnknownBenchmarkError as exc:
        raise click.ClickException(str(exc)) from None


def _load(name: str) -> dict[str, dict[str, object]]:
    from atomgenbench.benchmarks.atomgen.dataset import load_splits

    try:
        return load_splits(name)
    except sources.DataError as exc:
        raise click.ClickException(str(exc)) from None


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


def list_rows() -> dict[str, list[dict]]:
    """Benchmarks and auxiliary files with where each would be read from (no hashing, no parsing)."""
    benchmarks = []
    for spec in REGISTRY.values():
        status, path = sources.where(sources.benchmark_file(spec.name))
        benchmarks.append(
            {
                "name": spec.name,
                "kind": spec.kind,
                "family": spec.family,
                "metric": spec.metric,
                "split_sizes": spec.split_sizes,
                "leaderboard_file": spec.leaderboard_file,
                "status": status,
                "path": str(path) if path else None,
            }
        )
    aux = []
    for key, datafile in sources.AUX_FILES.items():
        status, path = sources.where(datafile)
        aux.append(
            {
                "name": key,
                "file": datafile.path,
                "description": datafile.description,
                "status": status,
                "path": str(path) if path else None,
            }
        )
    return {"benchmarks": benchmarks, "aux": aux}


@data.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def list_(as_json: bool) -> None:
    """Every benchmark: split sizes, kind, leaderboard file and whether it is mirrored/cached.

    Status is where the file would be read from (mirror, cache or missing); it is
    not verified here — `data fetch` verifies checksums.
    """
    rows = list_rows()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'benchmark':<28} {'kind':<9} {'splits (train/val/test)':<24} {'status':<8} leaderboard file")
    for r in rows["benchmarks"]:
        sizes = "/".join(str(v) for k, v in _ordered(r["split_sizes"]))
        click.echo(f"{r['name']:<28} {r['kind']:<9} {sizes:<24} {r['status']:<8} {r['leaderboard_file']}")
    click.echo("\nconditioning files:")
    for r in rows["aux"]:
        click.echo(f"{r['name']:<28} {r['file']:<28} {r['status']:<8} {r['description']}")


def _ordered(sizes: dict[str, int]) -> list[tuple[str, int]]:
    order = {"train": 0, "val": 1, "test": 2}
    return sorted(sizes.items(), key=lambda kv: order.get(kv[0], 9))


# --------------------------------------------------------------------------- fetch


@data.command("fetch")
@click.argument("names", nargs=-1)
@click.option("--all", "fetch_all", is_flag=True, help="Every benchmark and conditioning file.")
def fetch(names: tuple[str, ...], fetch_all: bool) -> None:
    """Fetch benchmark files (NAME: a benchmark or conditioning file of `data list`) and verify them.

    Every file's sha256 is checked (a converted conditioning file by its content).
    Exits non-zero, naming the file, when any file is corrupted or unavailable.
    """
    from tqdm import tqdm

    if fetch_all == bool(names):
        raise click.UsageError("give one or more benchmark names, or --all")
    try:
        files = sources.all_files() if fetch_all else [sources.resolve(n) for n in names]
    except UnknownBenchmarkError as exc:
        raise click.ClickException(f"{exc}; conditioning files: {', '.join(sources.AUX_FILES)}") from None
    failures: list[str] = []
    for datafile in tqdm(files, desc="verifying", unit="file", leave=False, disable=None):
        try:
            path = sources.fetch(datafile)
        except sources.DataError as exc:
            failures.append(datafile.path)
            tqdm.write(f"FAILED {datafile.path}: {exc}", file=click.get_text_stream("stderr"))
            continue
        tqdm.write(f"ok     {datafile.path}  ({path})")
    if failures:
        raise click.ClickException(f"{len(failures)} of {len(files)} file(s) failed: {', '.join(failures)}")
    click.echo(f"all {len(files)} file(s) verified")


# --------------------------------------------------------------------------- show


def _structures(split: dict[str, object], desc: str) -> dict:
    from tqdm import tqdm

    from atomgenbench.benchmarks.atomgen.structures import StructureParseError, parse_poscar

    out = {}
    for key, text in tqdm(split.items(), desc=desc, unit="crystal", leave=False, disable=None):
        try:
            out[key] = parse_poscar(str(text))
        except StructureParseError as exc:
            raise click.ClickException(f"{desc}: id {key}: {exc}") from None
    return out


def _summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)} if values else {}


def show_info(name: str) -> dict:
    """Counts, elements, atoms per cell and T_c coverage (structure) or value ranges (float)."""
    spec = _spec(name)
    splits = _load(name)
    info: dict = {
        "name": name,
        "kind": spec.kind,
        "family": spec.family,
        "splits": spec.split_sizes,
        "leaderboard_file": spec.leaderboard_file,
    }
    if spec.kind == "float":
        info["values"] = {s: _summary([float(v) for v in vals.values()]) for s, vals in splits.items()}
        return info
    from atomgenbench.benchmarks.atomgen.conditioning import TC_PROVENANCE, tc_table

    elements: Counter = Counter()
    natoms: dict[str, list[int]] = {}
    for split, values in splits.items():
        structs = _structures(values, f"{name} {split}")
        natoms[split] = [len(s) for s in structs.values()]
        for s in structs.values():
            elements.update({el.symbol for el in s.composition.elements})
    info["atoms_per_cell"] = {s: _summary(v) for s, v in natoms.items()}
    info["elements"] = dict(elements.most_common())
    table = tc_table(spec.family)
    if table:
        tc = {s: [table[i] for i in vals if i in table] for s, vals in splits.items()}
        info["tc"] = {s: {**_summary(v), "covered": len(v), "of": len(splits[s])} for s, v in tc.items()}
        info["tc_source"] = TC_PROVENANCE.get(spec.family, "")
    return info


@data.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def show(name: str, as_json: bool) -> None:
    """Counts, elements, atoms per cell and T_c range/coverage of benchmark NAME.

    For a lattice-parameter benchmark: the value range per split.
    """
    info = show_info(name)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"{info['name']} ({info['kind']}, family {info['family']}) -> {info['leaderboard_file']}")
    click.echo("splits: " + ", ".join(f"{k} {v}" for k, v in _ordered(info["splits"])))
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


@dataclass
class CheckReport:
    """Findings of `data check` for one structure benchmark."""

    name: str
    tolerances: dict[str, float]
    test_size: int
    train_size: int
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # test id -> matching train ids
    test_internal_duplicates: list[list[str]] = field(default_factory=list)
    test_formula_in_train: int = 0
    missing_tc: dict[str, list[str]] = field(default_factory=dict)  # split -> ids without T_c
    tc_source: str = ""


def check_benchmark(name: str, *, ltol: float, stol: float, angle_tol: float) -> CheckReport:
    """Test crystals that duplicate training crystals, and ids without conditioning data.

    Crystals are compared only within the same reduced formula, with pymatgen's
    ``StructureMatcher(ltol, stol, angle_tol)`` (species-aware, primitive cells).
    """
    from pymatgen.analysis.structure_matcher import StructureMatcher
    from tqdm import tqdm

    from atomgenbench.benchmarks.atomgen.conditioning import TC_PROVENANCE, tc_table

    spec = _spec(name)
    if spec.kind != "structure":
        raise click.ClickException(f"{name} holds lattice parameters; check {spec.structure_benchmark} instead")
    splits = _load(name)
    train = _structures(splits["train"], f"{name} train")
    test = _structures(splits["test"], f"{name} test")
    by_formula: dict[str, list[str]] = defaultdict(list)
    for key, s in train.items():
        by_formula[s.composition.reduced_formula].append(key)
    matcher = StructureMatcher(ltol=ltol, stol=stol, angle_tol=angle_tol)
    report = CheckReport(name, {"ltol": ltol, "stol": stol, "angle_tol": angle_tol}, len(test), len(train))
    test_groups: dict[str, list[str]] = defaultdict(list)
    for key, s in tqdm(test.items(), desc=f"{name} matching", unit="crystal", leave=False, disable=None):
        formula = s.composition.reduced_formula
        test_groups[formula].append(key)
        candidates = by_formula.get(formula, [])
        report.test_formula_in_train += bool(candidates)
        hits = [c for c in candidates if matcher.fit(s, train[c])]
        if hits:
            report.duplicates[key] = hits
    for keys in test_groups.values():
        report.test_internal_duplicates.extend(_clusters(keys, test, matcher))
    table = tc_table(spec.family)
    if table:
        report.missing_tc = {s: [i for i in vals if i not in table] for s, vals in splits.items()}
        report.tc_source = TC_PROVENANCE.get(spec.family, "")
    return report


def _clusters(keys: list[str], structs: dict, matcher) -> list[list[str]]:
    """Groups (size > 1) of mutually matching crystals among ``keys``."""
    groups: list[list[str]] = []
    for key in keys:
        for group in groups:
            if matcher.fit(structs[key], structs[group[0]]):
                group.append(key)
                break
        else:
            groups.append([key])
    return [g for g in groups if len(g) > 1]


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
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def check(name: str, ltol: float, stol: float, angle_tol: float, as_json: bool) -> None:
    """Test crystals of NAME that duplicate training crystals, and ids missing T_c.

    Duplicates: pymatgen StructureMatcher (defaults ltol=0.2, stol=0.3,
    angle_tol=5), comparing only crystals of the same reduced formula. Also lists
    groups of test crystals that duplicate each other.
    """
    report = check_benchmark(name, ltol=ltol, stol=stol, angle_tol=angle_tol)
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

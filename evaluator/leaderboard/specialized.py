"""The leaderboard's "Special/AtomGenBench" page: Pearson r per model and lattice-parameter file.

How the live site computes it (jarvis_leaderboard ``specialized_benchmarks.py``, run by its deploy
workflow, with ``rebuild.get_metric_value(..., metric="pearsonr")``), restated as facts:

* the 12 lattice files ``AI-AtomGen-<prop>-<dataset>-test-mae.csv.zip`` of the alex and dft_3d
  families, one heatmap column each, named by the file name without ``AI-AtomGen-`` and
  ``-test-mae.csv.zip`` (``Tc_a-alex_supercon``), in file-name order;
* one heatmap row per contribution folder that holds any of them;
* a cell: the file's rows inner-joined on ``id`` with the benchmark's test split (the truth comes
  from the benchmark JSON, not the file's ``target`` column), then ``round(scipy.stats.pearsonr(
  actual, prediction)[0], 2)``.

:func:`atomgenbench_pearson` computes that table from contribution folders (``validate``);
:func:`pearson_from_rows` the same six values of one evaluation from its rows.csv (the page).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS, REGISTRY, get_spec
from atomgenbench.evaluator.scoring.lattice import PLACEHOLDER_RAW

#: structure benchmarks whose lattice files the special page shows
FAMILIES = ("alex_supercon_Tc", "dft_3d_Tc_supercon")
NOTE = (
    "Pearson r (2 dp) between each lattice-parameter file's predictions and the benchmark's test values, "
    "as the leaderboard's Special/AtomGenBench page computes it (specialized_benchmarks.py, metric pearsonr)"
)


def special_specs() -> list:
    """The 12 lattice-parameter benchmarks of the page, in its column order (by file name)."""
    specs = [s for s in REGISTRY.values() if s.kind == "float" and s.structure_benchmark in FAMILIES]
    return sorted(specs, key=lambda s: s.leaderboard_file)


def column_name(file_name: str) -> str:
    """``AI-AtomGen-Tc_a-alex_supercon-test-mae.csv.zip`` -> ``Tc_a-alex_supercon`` (the page's column label)."""
    return file_name.replace("AI-AtomGen-", "").replace("-test-mae.csv.zip", "").replace("-test-rmse.csv.zip", "")


def pearson_r(actual: Sequence[float], prediction: Sequence[float]) -> float | None:
    """``round(pearsonr(actual, prediction)[0], 2)`` (numpy rounding); ``None`` where it is undefined (NaN)."""
    from scipy import stats

    a = np.asarray(actual, float)
    p = np.asarray(prediction, float)
    if len(a) < 2 or not (np.isfinite(a).all() and np.isfinite(p).all()) or np.ptp(a) == 0 or np.ptp(p) == 0:
        return None  # scipy returns NaN (with a warning) for these; the leaderboard would show nan
    r = np.round(stats.pearsonr(a, p)[0], 2)
    return float(r) if math.isfinite(r) else None


def file_pearson_r(path: str | Path, benchmark: str | None = None) -> float | None:
    """Pearson r of one lattice file against its benchmark's test split (ids in both; ``None``: nan)."""
    from atomgenbench.benchmarks.atomgen.dataset import load_splits
    from atomgenbench.benchmarks.atomgen.registry import spec_for_leaderboard_file
    from atomgenbench.evaluator.inputs.load import read_leaderboard_rows

    path = Path(path)
    spec = get_spec(benchmark) if benchmark else spec_for_leaderboard_file(path.name)
    if spec is None or spec.kind != "float":
        raise ValueError(f"{path.name}: not a lattice-parameter leaderboard file")
    targets = load_splits(spec.name)["test"]
    rows = read_leaderboard_rows(path)
    ids = [k for k in rows if k in targets]
    try:
        prediction = [float(rows[k]) for k in ids]
    except ValueError:
        return None  # a non-numeric cell: pandas reads the column as text and the leaderboard cannot correlate it
    return pearson_r([float(targets[k]) for k in ids], prediction)


def atomgenbench_pearson(contribution_dirs: Sequence[str | Path]) -> dict:
    """The Special/AtomGenBench heatmap of contribution folders.

    Returns ``{"note", "files": [column names], "file_names": [csv.zip names], "models": [folder names],
    "values": {model: {column: r or None}}, "zmin"}``; a file a folder lacks is ``None`` (the live
    page cannot draw such a cell: submit all 12).
    """
    specs = special_specs()
    columns = [column_name(s.leaderboard_file) for s in specs]
    values: dict[str, dict[str, float | None]] = {}
    for folder in map(Path, contribution_dirs):
        row = {}
        for spec, col in zip(specs, columns):
            path = folder / spec.leaderboard_file
            row[col] = file_pearson_r(path, spec.name) if path.is_file() else None
        if any(path_exists(folder, s) for s in specs):
            values[folder.name] = row
    return _table(columns, [s.leaderboard_file for s in specs], values, NOTE)


def path_exists(folder: Path, spec) -> bool:
    return (folder / spec.leaderboard_file).is_file()


def pearson_from_rows(benchmark: str, header: list[str], rows: list[list[str]]) -> dict[str, float | None]:
    """The six columns of one structure benchmark from an evaluation's rows.csv.

    The raw (unreduced jarvis) cells of rows.csv are what the packaged lattice files hold; a row
    without a parsed prediction counts with the placeholder cell (1 Å, 90°) that
    ``package --fill-failures`` writes. ``{column: r or None}``.
    """
    col = {name: i for i, name in enumerate(header)}
    out = {}
    for spec in (s for s in special_specs() if s.structure_benchmark == benchmark):
        p = spec.lattice_param
        j = LATTICE_PARAMS.index(p)
        actual, prediction = [], []
        for r in rows:
            target = r[col[f"raw_target_{p}"]]
            if target == "":
                continue  # a target without a cell is not in the packaged file's scoring either
            pred = r[col[f"raw_pred_{p}"]] if r[col["parsed"]] == "True" else ""
            actual.append(float(target))
            prediction.append(float(pred) if pred != "" else PLACEHOLDER_RAW[j])
        out[column_name(spec.leaderboard_file)] = pearson_r(actual, prediction)
    return out


def _table(columns: list[str], file_names: list[str], values: dict, note: str) -> dict:
    finite = [v for row in values.values() for v in row.values() if v is not None]
    by_benchmark: dict[str, dict[str, str]] = {}
    for spec in special_specs():
        by_benchmark.setdefault(spec.structure_benchmark, {})[spec.lattice_param] = column_name(spec.leaderboard_file)
    return {
        "by_benchmark": by_benchmark,
        "note": note,
        "files": columns,
        "file_names": file_names,
        "models": list(values),
        "values": values,
        "zmin": min([0.0, *finite]),
    }


def rows_table(models: Sequence[tuple[str, str, list[str], list[list[str]]]]) -> dict:
    """The heatmap of evaluations ``(label, benchmark, rows header, rows)`` in :func:`atomgenbench_pearson`'s layout.

    A label evaluated on both families fills one row of 12 cells.
    """
    values: dict[str, dict[str, float | None]] = {}
    for label, benchmark, header, rows in models:
        values.setdefault(label, {}).update(pearson_from_rows(benchmark, header, rows))
    columns = [column_name(s.leaderboard_file) for s in special_specs()]
    columns = [c for c in columns if any(c in v for v in values.values())]
    names = [s.leaderboard_file for s in special_specs() if column_name(s.leaderboard_file) in columns]
    note = (
        NOTE + "; here from each evaluation's rows.csv (raw cells; a failed row counts with the placeholder cell "
        "1 Å, 90° that package --fill-failures writes), which is what its packaged lattice files would hold"
    )
    return _table(columns, names, {k: {c: v.get(c) for c in columns} for k, v in values.items()}, note)


def special_lines(table: dict, indent: str = "  ") -> list[str]:
    """Text lines of an :func:`atomgenbench_pearson` table: one line per model and benchmark family.

    ``–`` marks a cell the live page cannot colour: the folder lacks that lattice file, or r is
    undefined (a constant column).
    """
    if not table or not table.get("models"):
        return []
    width = max(len(m) for m in table["models"])
    lines = [
        "Special/AtomGenBench page (the leaderboard's heatmap: Pearson r, 2 dp, of each lattice file against the "
        "test values; specialized_benchmarks.py, metric pearsonr):",
        f"{indent}{'model':<{width}}  {'benchmark':<18}  " + "  ".join(f"{p:>5}" for p in LATTICE_PARAMS),
    ]
    for model in table["models"]:
        row = table["values"][model]
        for benchmark, columns in table["by_benchmark"].items():
            if not any(columns[p] in row for p in LATTICE_PARAMS):
                continue
            cells = [row.get(columns[p]) for p in LATTICE_PARAMS]
            text = "  ".join(f"{'–':>5}" if c is None else f"{c:>5.2f}" for c in cells)
            lines.append(f"{indent}{model:<{width}}  {benchmark:<18}  {text}")
    if any(v is None for row in table["values"].values() for v in row.values()):
        lines.append(f"{indent}–: lattice file missing from the folder, or r undefined (a constant column)")
    return lines


def special_markdown(table: dict) -> list[str]:
    """A Markdown table of an :func:`atomgenbench_pearson` table (the Action's step summary)."""
    if not table or not table.get("models"):
        return []
    lines = ["| folder | benchmark | " + " | ".join(LATTICE_PARAMS) + " |", "|---|---|" + "---:|" * 6]
    for model in table["models"]:
        row = table["values"][model]
        for benchmark, columns in table["by_benchmark"].items():
            if not any(columns[p] in row for p in LATTICE_PARAMS):
                continue
            cells = ["–" if row.get(columns[p]) is None else f"{row[columns[p]]:.2f}" for p in LATTICE_PARAMS]
            lines.append(f"| {model} | {benchmark} | " + " | ".join(cells) + " |")
    return lines

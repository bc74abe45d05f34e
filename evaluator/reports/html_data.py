"""The data of the HTML report, read from result folders (metrics.json, rows.csv) and structure files.

A *result folder* is what ``evaluate --out``, ``compare --out`` or ``reproduce`` wrote:

* an evaluation folder holds ``metrics.json`` and (structure benchmarks) ``rows.csv``;
* a comparison folder holds ``comparison.json`` and one evaluation folder per label;
* any other folder whose subfolders, or their subfolders, are evaluation folders (``reproduce``'s
  ``eval/<benchmark>/`` and ``eval/``).

Every number the page shows is one of these files' (embedded verbatim: the metrics.json
documents as parsed JSON, rows.csv as its header and string cells). The viewer's crystals
come from the benchmark's test split (targets) and, where known, the prediction file the
evaluation read: ``predictions`` passed in, else the path in the folder's ``source.txt``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from atomgenbench.core.errors import AtomGenBenchError, UsageError

log = logging.getLogger("atomgenbench")

#: atoms above which a crystal is left out of the viewer (it would be unreadable and heavy)
VIEWER_MAX_ATOMS = 400
#: samples per id the viewer can step through (a K = 20 run of three models would otherwise weigh ~20 MB)
VIEWER_MAX_SAMPLES = 10
#: decimals kept for lattice vectors and fractional coordinates in the viewer data
COORD_DECIMALS = 4


class ReportError(AtomGenBenchError):
    """A result folder the report cannot be made from."""


@dataclass
class ModelResult:
    """One evaluation: its label, folder, metrics.json document and rows.csv table."""

    label: str
    folder: Path
    metrics: dict
    rows_header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    source: str | None = None  # the prediction input named in source.txt

    @property
    def benchmark(self) -> str:
        return self.metrics["benchmark"]


@dataclass
class BenchmarkResults:
    """The models of one benchmark and what their folders add (comparison.json)."""

    name: str
    models: list[ModelResult] = field(default_factory=list)
    comparison: dict | None = None


def read_json(path: Path) -> dict:
    """A JSON object from ``path`` (a :class:`ReportError` naming the file otherwise)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: cannot read it as JSON ({exc})") from None
    except RecursionError:
        raise ReportError(f"{path}: cannot read it as JSON (nested too deeply)") from None
    if not isinstance(doc, dict):
        raise ReportError(f"{path}: expected a JSON object, found {type(doc).__name__}")
    return doc


def read_model(folder: Path, label: str | None = None) -> ModelResult:
    """The evaluation in ``folder`` (metrics.json, rows.csv when present, source.txt when present)."""
    metrics = read_json(folder / "metrics.json")
    for key in ("benchmark", "kind", "n_total"):
        if key not in metrics:
            raise ReportError(f"{folder / 'metrics.json'}: no {key!r}; not an atomgenbench metrics.json")
    header: list[str] = []
    rows: list[list[str]] = []
    rows_path = folder / "rows.csv"
    if rows_path.is_file():
        table = list(csv.reader(io.StringIO(rows_path.read_text(encoding="utf-8"))))
        if not table or "id" not in table[0]:
            raise ReportError(f"{rows_path}: no header with an 'id' column")
        header, rows = table[0], table[1:]
    elif metrics["kind"] == "structure":
        raise ReportError(f"{folder}: metrics.json of a structure benchmark without its rows.csv")
    source = None
    if (folder / "source.txt").is_file():
        source = (folder / "source.txt").read_text(encoding="utf-8").strip() or None
    name = label or metrics.get("model") or folder.name
    return ModelResult(name, folder, metrics, header, rows, source)


def find_results(paths: list[str | Path]) -> list[BenchmarkResults]:
    """Every evaluation under ``paths`` (see the module docstring), grouped by benchmark in first-seen order."""
    if not paths:
        raise UsageError("no result folder given")
    groups: dict[str, BenchmarkResults] = {}
    for raw in paths:
        folder = Path(raw)
        if not folder.is_dir():
            raise ReportError(f"{folder}: not a folder (give the --out folder of evaluate, compare or reproduce)")
        comparison = read_json(folder / "comparison.json") if (folder / "comparison.json").is_file() else None
        models = _models_in(folder, comparison)
        if not models:
            raise ReportError(f"{folder}: no metrics.json in it or in its subfolders; not a result folder")
        for model in models:
            group = groups.setdefault(model.benchmark, BenchmarkResults(model.benchmark))
            if any(m.label == model.label for m in group.models):
                model.label = f"{model.label} ({folder.name})"
            group.models.append(model)
            if comparison is not None and comparison.get("benchmark") == model.benchmark:
                group.comparison = group.comparison or comparison
    return list(groups.values())


def _models_in(folder: Path, comparison: dict | None) -> list[ModelResult]:
    if (folder / "metrics.json").is_file():
        return [read_model(folder)]
    if comparison is not None and comparison.get("labels"):
        labels = [lab for lab in comparison["labels"] if (folder / lab / "metrics.json").is_file()]
        return [read_model(folder / lab, lab) for lab in labels]
    subs = sorted(p for p in folder.iterdir() if (p / "metrics.json").is_file())
    if not subs:  # reproduce's OUT/eval: <benchmark>/<label>/metrics.json
        subs = sorted(p for p in folder.glob("*/*") if (p / "metrics.json").is_file())
    return [read_model(p, p.name) for p in subs]


# --------------------------------------------------------------------------- crystals for the viewer


def compact(structure) -> dict:
    """A pymatgen Structure as the viewer draws it: lattice rows, species and fractional coordinates."""
    lat = structure.lattice
    frac = structure.frac_coords % 1.0
    return {
        "lattice": [[round(float(x), COORD_DECIMALS) for x in row] for row in lat.matrix],
        "abc": [round(float(x), COORD_DECIMALS) for x in (*lat.abc, *lat.angles)],
        "species": [site.specie.symbol for site in structure],
        "frac": [[round(float(x), COORD_DECIMALS) for x in row] for row in frac],
        "formula": structure.composition.reduced_formula,
    }


def crystal(text: str | None) -> dict | None:
    """The viewer record of one POSCAR text, ``None`` when empty, unparseable or too large to draw."""
    from atomgenbench.benchmarks.atomgen.structures import parse_poscar

    if not text:
        return None
    try:
        structure = parse_poscar(str(text), max_atoms=VIEWER_MAX_ATOMS)
    except AtomGenBenchError:
        return None
    except Exception:  # noqa: BLE001 - a prediction the toolkit already recorded as failed
        return None
    return compact(structure)


def target_crystals(benchmark: str, ids: list[str]) -> dict[str, dict | None]:
    """``{id: viewer record}`` of the benchmark's test targets ``ids``."""
    from atomgenbench.benchmarks.atomgen.dataset import load_splits

    test = load_splits(benchmark)["test"]
    return {i: crystal(test.get(i)) for i in ids}


def prediction_crystals(source, benchmark: str, ids: list[str]) -> dict[str, list[dict | None]] | None:
    """``{id: [viewer record of sample 0, 1, …]}`` from Predictions or an input path; ``None`` if unreadable.

    At most :data:`VIEWER_MAX_SAMPLES` samples per id (the first ones).
    """
    from atomgenbench.benchmarks.atomgen.predictions import Predictions

    if source is None:
        return None
    predictions = source
    if not isinstance(source, Predictions):
        from atomgenbench.evaluator.inputs.load import load_predictions

        try:
            predictions = load_predictions(Path(source), benchmark)
        except (AtomGenBenchError, OSError) as exc:
            log.warning("report: the viewer shows targets only; cannot read the predictions %s (%s)", source, exc)
            return None
    k = min(predictions.samples, VIEWER_MAX_SAMPLES)
    return {i: [crystal(predictions.sample(s).get(i)) for s in range(k)] for i in ids}


def stratum_of(benchmark: str, ids: list[str]) -> dict[str, str] | None:
    """``{id: leakage stratum}`` (cached by ``evaluate``), ``None`` for a benchmark without strata."""
    from atomgenbench.benchmarks.atomgen.strata import strata

    try:
        table = strata(benchmark)
    except UsageError as exc:  # not a structure benchmark (missing data is an error: the targets need it too)
        log.warning("report: no leakage strata for %s (%s)", benchmark, exc)
        return None
    return {i: table.get(i, "unknown") for i in ids}


def element_colors(symbols: set[str]) -> dict[str, str]:
    """Jmol colours (pymatgen's ElementColorSchemes.yaml) of ``symbols`` as ``#rrggbb``."""
    import pymatgen.core
    import yaml

    path = Path(pymatgen.core.__file__).parent / "ElementColorSchemes.yaml"
    scheme = yaml.safe_load(path.read_text(encoding="utf-8"))["Jmol"]
    out = {}
    for s in sorted(symbols):
        rgb = scheme.get(s, [128, 128, 128])
        out[s] = "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb))
    return out


def _given(predictions: Mapping, model: ModelResult):
    """The predictions given for ``model``: keyed by its label (str) or by its folder (a Path)."""
    if model.label in predictions:
        return predictions[model.label]
    folder = model.folder.resolve()
    for key, value in predictions.items():
        if isinstance(key, Path) and key.resolve() == folder:
            return value
    return None


def viewer_data(group: BenchmarkResults, predictions: Mapping[str | Path, object] | None = None) -> dict:
    """Targets, predictions per model label and element colours of one benchmark's models."""
    ids = list(dict.fromkeys(row[0] for m in group.models for row in m.rows))
    if not ids:
        return {"targets": {}, "predictions": {}, "colors": {}}
    targets = target_crystals(group.name, ids)
    preds = {}
    for m in group.models:
        source = _given(predictions or {}, m) or m.source
        mine = [row[0] for row in m.rows]
        found = prediction_crystals(source, group.name, mine)
        if found is not None:
            preds[m.label] = found
    symbols = {s for c in targets.values() if c for s in c["species"]}
    symbols |= {s for p in preds.values() for samples in p.values() for c in samples if c for s in c["species"]}
    return {"targets": targets, "predictions": preds, "colors": element_colors(symbols)}

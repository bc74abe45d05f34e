"""``report.html``: one self-contained page per evaluation or comparison (issue 29).

The page inlines its CSS, its JavaScript, Plotly (once, offline) and the data: every result
folder's metrics.json and rows.csv verbatim, the metric registry's definitions for the
column headers, and the crystals of the viewer. It makes no network request.

Entry point: :func:`write_html_report` (``atomgenbench report``; the evaluate, compare and
reproduce workflows call it beside report.md).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.core.versions import __version__
from atomgenbench.evaluator.leaderboard import specialized
from atomgenbench.evaluator.metrics import registry
from atomgenbench.evaluator.metrics.breakdowns import STRATUM_METRICS
from atomgenbench.evaluator.reports.html_data import (
    BenchmarkResults,
    ModelResult,
    find_results,
    stratum_of,
    viewer_data,
)

log = logging.getLogger("atomgenbench")

ASSETS = Path(__file__).with_name("html_assets")
#: the page-size target of issue 29 (a warning above it)
MAX_PAGE_BYTES = 15 * 10**6
#: id of the <script type="application/json"> element holding the page's data
DATA_ELEMENT = "report-data"
#: the page's scripts, in the order they are inlined (report.js last: it starts the page)
SCRIPTS = ("figures.js", "viewer.js", "report.js")

#: leaderboard columns: (registry metric name, short header); "@leaderboard_env" is the value the
#: leaderboard will show (``metrics.json["leaderboard_env"]["leaderboard"]``, evaluate --leaderboard-env)
LEADERBOARD_COLUMNS: list[tuple[str, str]] = [
    ("rmse", "RMSE"),
    ("@leaderboard_env", "leaderboard will show"),
    ("rmse.match_rate", "match rate"),
    ("rmse.penalised", "penalised RMSE"),
    ("ccrmsd", "ccRMSD (Å)"),
    ("validity.both", "valid"),
    ("validity.structural", "structurally valid"),
    ("symmetry.spacegroup", "same space group"),
    ("symmetry.crystal_system", "same crystal system"),
    ("samples.match_at_k", "match@k"),
    ("samples.best_of_k_rmse", "best-of-k RMSE"),
    *((f"mae.{p}", f"MAE {registry.SYMBOL[p]}") for p in LATTICE_PARAMS),
    *((f"kld.{p}", f"KLD {registry.SYMBOL[p]}") for p in LATTICE_PARAMS),
    *((f"@pearson.{p}", f"Pearson r {registry.SYMBOL[p]}") for p in LATTICE_PARAMS),
]

#: metrics of the per-stratum bar chart (keys of ``by_stratum`` groups, see metrics.STRATUM_METRICS)
STRATUM_BARS = ["match_rate", "rmse", "ccrmsd", "validity.both", "symmetry.spacegroup"]


def metric_help(name: str) -> dict:
    """Label, unit, denominator, direction and formula of a registry metric, for a header tooltip."""
    m = registry.get(name)
    return {
        "label": m.label,
        "unit": m.unit,
        "denominator": m.denominator,
        "direction": m.direction,
        "formula": m.formula,
        "tooltip": f"{m.label}\n{m.formula}\nunit: {m.unit}\nover: {m.denominator}\n{m.direction} is better",
    }


def column_specs() -> list[dict]:
    """The leaderboard columns with their registry text (what the JavaScript draws)."""
    out = []
    for name, short in LEADERBOARD_COLUMNS:
        if name == "@leaderboard_env":
            rmse = registry.get("rmse")
            out.append(
                {
                    "name": name,
                    "short": short,
                    "direction": rmse.direction,
                    "tooltip": f"{rmse.label} computed in the leaderboard's own environment (pymatgen pinned; "
                    "evaluate --leaderboard-env), rounded to 4 decimals as the leaderboard shows it\n"
                    f"over: {rmse.denominator}",
                }
            )
            continue
        if name.startswith("@pearson."):
            tip = f"{specialized.NOTE}; raw (unreduced) cell parameter {name.split('.')[1]}\nhigher is better"
            out.append({"name": name, "short": short, "direction": "higher", "unit": "r", "tooltip": tip})
            continue
        out.append({"name": name, "short": short, **metric_help(name)})
    return out


def _model_json(model: ModelResult) -> dict:
    return {
        "label": model.label,
        "folder": str(model.folder),
        "source": model.source,
        "metrics": model.metrics,
        "rows_header": model.rows_header,
        "rows": model.rows,
    }


def benchmark_data(group: BenchmarkResults, predictions: Mapping[str | Path, object] | None = None) -> dict:
    """Everything the page shows for one benchmark."""
    kind = group.models[0].metrics.get("kind", "structure")
    ids = list(dict.fromkeys(row[0] for m in group.models for row in m.rows))
    return {
        "name": group.name,
        "kind": kind,
        "models": [_model_json(m) for m in group.models],
        "comparison": group.comparison,
        "strata": stratum_of(group.name, ids) if kind == "structure" and ids else None,
        "viewer": viewer_data(group, predictions) if kind == "structure" else None,
    }


def special_table(groups: list[BenchmarkResults], contributions: Sequence[str | Path] | None = None) -> dict | None:
    """The Special/AtomGenBench heatmap: from contribution folders when given, else from the rows.csv files."""
    if contributions:
        return specialized.atomgenbench_pearson(list(contributions))
    models = [(m.label, g.name, m.rows_header, m.rows) for g in groups for m in g.models if m.rows]
    models = [m for m in models if m[1] in specialized.FAMILIES]
    table = specialized.rows_table(models) if models else None
    return table if table and table["files"] else None


def report_data(
    result_dirs: Sequence[str | Path],
    *,
    predictions: Mapping[str | Path, object] | None = None,
    title: str | None = None,
    contributions: Sequence[str | Path] | None = None,
) -> dict:
    """The page's embedded data document (what :func:`write_html_report` writes into the page)."""
    groups = find_results(list(result_dirs))
    names = [g.name for g in groups]
    stratum_names = {key: STRATUM_METRICS[key] for key in STRATUM_BARS}
    return {
        "schema": 1,
        "title": title or f"atomgenbench report: {', '.join(names)}",
        "generated": {
            "atomgenbench": __version__,
            "utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "from": [str(Path(p)) for p in result_dirs],
        },
        "columns": column_specs(),
        "stratum_metrics": {key: {"key": key, **metric_help(name)} for key, name in stratum_names.items()},
        "lattice_params": list(LATTICE_PARAMS),
        "symbols": registry.SYMBOL,
        "benchmarks": [benchmark_data(g, predictions) for g in groups],
        "specialized": special_table(groups, contributions),
    }


def _embed_json(doc: dict) -> str:
    """JSON that is safe inside a <script> element (no ``<`` characters left)."""
    return json.dumps(doc, separators=(",", ":"), allow_nan=False, ensure_ascii=False).replace("<", "\\u003c")


def render(doc: dict) -> str:
    """The complete HTML text of the page for a :func:`report_data` document."""
    from plotly.offline import get_plotlyjs

    parts = {
        "TITLE": _html_escape(doc["title"]),
        "CSS": (ASSETS / "report.css").read_text(encoding="utf-8"),
        "PLOTLY": get_plotlyjs(),
        "JS": "\n".join((ASSETS / name).read_text(encoding="utf-8") for name in SCRIPTS),
        "DATA": _embed_json(doc),
    }
    template = (ASSETS / "report.html").read_text(encoding="utf-8")
    # one pass: text put in is never scanned again for markers
    return re.sub(r"@@(TITLE|CSS|PLOTLY|JS|DATA)@@", lambda m: parts[m.group(1)], template)


def write_html_report(
    result_dirs: Sequence[str | Path],
    out_path: str | Path,
    *,
    predictions: Mapping[str | Path, object] | None = None,
    title: str | None = None,
    contributions: Sequence[str | Path] | None = None,
) -> Path:
    """Write one self-contained ``report.html`` for the evaluations in ``result_dirs``; return its path.

    ``result_dirs``: evaluation folders (metrics.json, rows.csv), comparison folders
    (comparison.json and a folder per label) or folders of evaluation folders; several
    benchmarks make one page with a benchmark selector. ``predictions`` maps a model label (str)
    or an evaluation folder (Path) to its :class:`~atomgenbench.benchmarks.atomgen.predictions.Predictions`
    or input path, for the crystal viewer; without it a folder's ``source.txt`` names the input, and a model
    with neither shows its targets only. ``contributions`` (leaderboard contribution folders)
    give the Special/AtomGenBench Pearson-r heatmap from their 12 lattice files; without them it
    comes from the rows.csv files (:func:`atomgenbench.evaluator.leaderboard.specialized.rows_table`).
    """
    from atomgenbench.core.io import atomic_write_text

    doc = report_data(result_dirs, predictions=predictions, title=title, contributions=contributions)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render(doc)
    atomic_write_text(out, text)
    size = len(text.encode("utf-8"))
    if size > MAX_PAGE_BYTES:
        log.warning("report: %s is %.1f MB, over the %.0f MB target", out, size / 1e6, MAX_PAGE_BYTES / 1e6)
    return out


def _html_escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)

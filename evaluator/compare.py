"""Compare several models on one benchmark with paired bootstrap differences.

Every model is evaluated on the same test ids; a bootstrap replicate resamples ids
once and recomputes each headline metric for every model on those same ids, so the
CI of a difference (model - reference) accounts for the pairing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from atomgenbench.evaluator import stats
from atomgenbench.evaluator.metrics import REGISTRY, Rows
from atomgenbench.evaluator.results import EvaluationResult

#: percentiles of the paired-difference interval
PAIRED_QUANTILES = (0.025, 0.975)


@dataclass
class Comparison:
    """Headline values per model and paired differences against the first model."""

    benchmark: str
    labels: list[str]
    table: dict[str, dict[str, float | None]]  # label -> metric -> value
    differences: dict[str, dict[str, dict]]  # label -> metric -> {diff, ci95}
    reference: str

    def to_json(self) -> dict:
        return {
            "schema_version": 1,
            "benchmark": self.benchmark,
            "reference": self.reference,
            "labels": self.labels,
            "table": self.table,
            "paired_differences": self.differences,
            "metrics": {name: _describe(name) for name in self.table[self.labels[0]]},
        }


def compare(results: dict[str, EvaluationResult], *, n_boot: int = 1000, seed: int = 0) -> Comparison:
    """Table and paired bootstrap differences (each model minus the first) for evaluated models.

    The rows are the registry metrics marked ``compare``; one ``(n_boot, n)`` draw of test ids
    is shared by every model and metric, so each difference is paired.
    """
    labels = list(results)
    first = results[labels[0]]
    ids = [r.id for r in first.records]
    for label, res in results.items():
        if [r.id for r in res.records] != ids or res.benchmark != first.benchmark:
            raise ValueError(f"{label}: evaluated on a different benchmark or id order than {labels[0]}")
    rows = {label: Rows(res.records, res.settings) for label, res in results.items()}
    names = [m.name for m in REGISTRY.values() if m.compare]
    full = {label: {name: REGISTRY[name].value(rows[label]) for name in names} for label in labels}
    table = {label: {name: _num(v) for name, v in full[label].items()} for label in labels}
    boots = stats.bootstrap_draws(len(ids), n_boot, seed) if n_boot > 0 else np.zeros((0, len(ids)), int)
    reference = {name: REGISTRY[name].statistic(rows[labels[0]], boots) for name in names}
    diffs: dict[str, dict[str, dict]] = {}
    for label in labels[1:]:
        diffs[label] = {}
        for name in names:
            reps = REGISTRY[name].statistic(rows[label], boots) - reference[name]
            diffs[label][name] = {
                "diff": _num(full[label][name] - full[labels[0]][name]),
                "ci95": stats.percentile_interval(reps, quantiles=PAIRED_QUANTILES),
            }
    return Comparison(first.benchmark, labels, table, diffs, labels[0])


def markdown(comp: Comparison) -> str:
    """Markdown table of values and paired differences."""
    names = list(comp.table[comp.labels[0]])
    lines = [
        f"# Comparison on `{comp.benchmark}`",
        "",
        "| metric | better | " + " | ".join(comp.labels) + " |",
        "|---|---|" + "---|" * len(comp.labels),
    ]
    for name in names:
        cells = [_fmt(comp.table[label][name]) for label in comp.labels]
        lines.append(f"| {_label(name)} | {REGISTRY[name].direction} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"## Paired bootstrap differences (model − {comp.reference}, 95% CI)",
        "",
        "| metric | " + " | ".join(comp.labels[1:]) + " |",
        "|---|" + "---|" * (len(comp.labels) - 1),
    ]
    for name in names:
        cells = []
        for label in comp.labels[1:]:
            d = comp.differences[label][name]
            ci = d["ci95"]
            cells.append(_fmt(d["diff"]) + (f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""))
        lines.append(f"| {_label(name)} | " + " | ".join(cells) + " |")
    lines += ["", "An interval that excludes 0 means the difference is unlikely to be resampling noise."]
    return "\n".join(lines) + "\n"


def _describe(name: str) -> dict:
    m = REGISTRY[name]
    return {"label": m.label, "unit": m.unit, "denominator": m.denominator, "better": m.direction}


def _label(name: str) -> str:
    m = REGISTRY[name]
    unit = "" if m.unit in ("fraction",) else f" ({m.unit.split(' (')[0]})"
    return f"{m.label}{unit} `{name}`"


def _num(x):
    return None if x is None or not np.isfinite(x) else float(x)


def _fmt(x):
    return "–" if x is None else f"{x:.4f}"

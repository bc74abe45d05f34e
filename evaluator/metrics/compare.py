"""Compare several models on one benchmark with paired bootstrap differences.

Every model is evaluated on the same test ids; a bootstrap replicate resamples ids
once and recomputes each headline metric for every model on those same ids, so the
CI of a difference (model - reference) accounts for the pairing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from atomgenbench.core.numbers import finite_or_none, fmt
from atomgenbench.evaluator.metrics.registry import REGISTRY, Rows
from atomgenbench.evaluator.metrics.results import EvaluationResult
from atomgenbench.evaluator.scoring import stats

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
    #: label -> leakage stratum -> {n, n_matched, match_rate, rmse} (metrics.json ``by_stratum``)
    strata: dict[str, dict[str, dict]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "schema_version": 1,
            "benchmark": self.benchmark,
            "reference": self.reference,
            "labels": self.labels,
            "table": self.table,
            "paired_differences": self.differences,
            "metrics": {name: _describe(name) for name in self.table[self.labels[0]]},
            "by_stratum": self.strata,
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
    k = min(r.k for r in rows.values())
    for r in rows.values():  # multi-sample metrics pair the models at equal k (the smallest K)
        r.k = k
    names = [
        m.name for m in REGISTRY.values() if m.compare and all(m.applies is None or m.applies(r) for r in rows.values())
    ]
    full = {label: {name: REGISTRY[name].value(rows[label]) for name in names} for label in labels}
    table = {label: {name: finite_or_none(v) for name, v in full[label].items()} for label in labels}
    boots = stats.bootstrap_draws(len(ids), n_boot, seed) if n_boot > 0 else np.zeros((0, len(ids)), int)
    reference = {name: REGISTRY[name].statistic(rows[labels[0]], boots) for name in names}
    diffs: dict[str, dict[str, dict]] = {}
    for label in labels[1:]:
        diffs[label] = {}
        for name in names:
            reps = REGISTRY[name].statistic(rows[label], boots) - reference[name]
            diffs[label][name] = {
                "diff": finite_or_none(full[label][name] - full[labels[0]][name]),
                "ci95": stats.percentile_interval(reps, quantiles=PAIRED_QUANTILES),
            }
    strata = {label: stratum_summary(res.breakdowns.get("by_stratum") or {}) for label, res in results.items()}
    return Comparison(first.benchmark, labels, table, diffs, labels[0], strata)


#: fields of a metrics.json ``by_stratum`` group that ``compare`` reports per model
STRATUM_FIELDS = ("n", "n_matched", "match_rate", "rmse")


def stratum_summary(by_stratum: dict[str, dict]) -> dict[str, dict]:
    """Count, match rate and RMSE of every leakage stratum of one model."""
    return {name: {k: g.get(k) for k in STRATUM_FIELDS} for name, g in by_stratum.items()}


def stratum_lines(comp: Comparison) -> list[str]:
    """Markdown table: per leakage stratum, every model's match rate and matched-only RMSE."""
    strata = [comp.strata.get(label) or {} for label in comp.labels]
    names = list(dict.fromkeys(name for s in strata for name in s))
    if not names:
        return []
    lines = [
        "## By leakage stratum (match rate / RMSE, matched only)",
        "",
        "| stratum | n | " + " | ".join(comp.labels) + " |",
        "|---|---|" + "---|" * len(comp.labels),
    ]
    for name in names:
        n = next((s[name]["n"] for s in strata if name in s), None)
        cells = []
        for s in strata:
            g = s.get(name) or {}
            rate = "–" if g.get("match_rate") is None else f"{g['match_rate']:.3f}"
            cells.append(f"{rate} / {fmt(g.get('rmse'))}")
        lines.append(f"| {name} | {'–' if n is None else n} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "twin: a training crystal matches the test crystal (`atomgenbench data check`); seen-formula: its "
        "reduced formula is in the training split; unseen: neither (docs/metrics.md).",
    ]
    return lines


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
        cells = [fmt(comp.table[label][name]) for label in comp.labels]
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
            cells.append(fmt(d["diff"]) + (f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""))
        lines.append(f"| {_label(name)} | " + " | ".join(cells) + " |")
    lines += ["", "An interval that excludes 0 means the difference is unlikely to be resampling noise."]
    strata = stratum_lines(comp)
    if strata:
        lines += ["", *strata]
    return "\n".join(lines) + "\n"


def _describe(name: str) -> dict:
    m = REGISTRY[name]
    return {"label": m.label, "unit": m.unit, "denominator": m.denominator, "better": m.direction}


def _label(name: str) -> str:
    m = REGISTRY[name]
    unit = "" if m.unit in ("fraction",) else f" ({m.unit.split(' (')[0]})"
    return f"{m.label}{unit} `{name}`"

"""Compare several models on one benchmark with paired bootstrap differences.

Every model is evaluated on the same test ids; a bootstrap replicate resamples ids
once and recomputes each headline metric for every model on those same ids, so the
CI of a difference (model - reference) accounts for the pairing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.evaluator import stats
from atomgenbench.evaluator.results import EvaluationResult


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
        }


def _metric_fns(result: EvaluationResult, stol: float):
    """metric name -> f(indices) for one model's per-id arrays."""
    recs = result.records
    rms = np.array([np.nan if r.rms is None else r.rms for r in recs])
    pred = np.array([r.niggli_pred if r.parsed and r.niggli_pred else (np.nan,) * 6 for r in recs], float)
    tgt = np.array([r.niggli_target if r.niggli_target else (np.nan,) * 6 for r in recs], float)
    ok = np.isfinite(pred).all(axis=1) & np.isfinite(tgt).all(axis=1)
    fns = {
        "rmse": lambda i: stats.matched_mean(rms[i]),
        "match_rate": lambda i: stats.match_rate(rms[i]),
        "rmse_penalised": lambda i: stats.penalised_mean(rms[i], stol),
    }
    for j, p in enumerate(LATTICE_PARAMS):
        fns[f"mae_{p}"] = lambda i, j=j: stats.mae(pred[i][ok[i], j], tgt[i][ok[i], j])
        edges = result.kld[p].extra.get("edges")
        full = np.concatenate(([-np.inf], edges, [np.inf])) if edges else None
        fns[f"kld_{p}"] = lambda i, j=j, full=full: stats.kld_histogram(
            pred[i][np.isfinite(pred[i][:, j]), j],
            tgt[i][np.isfinite(tgt[i][:, j]), j],
            epsilon=result.settings["kld_epsilon"],
            edges=full,
        )
    return fns


def compare(results: dict[str, EvaluationResult], *, n_boot: int = 1000, seed: int = 0) -> Comparison:
    """Table and paired bootstrap differences (each model minus the first) for evaluated models."""
    labels = list(results)
    first = results[labels[0]]
    ids = [r.id for r in first.records]
    for label, res in results.items():
        if [r.id for r in res.records] != ids or res.benchmark != first.benchmark:
            raise ValueError(f"{label}: evaluated on a different benchmark or id order than {labels[0]}")
    stol = first.rmse.tolerances["stol"]
    fns = {label: _metric_fns(res, stol) for label, res in results.items()}
    names = list(fns[labels[0]])
    full = np.arange(len(ids))
    table = {label: {name: _num(fns[label][name](full)) for name in names} for label in labels}
    diffs: dict[str, dict[str, dict]] = {}
    rng = np.random.default_rng(seed)
    boots = [rng.integers(0, len(ids), len(ids)) for _ in range(n_boot)]
    for label in labels[1:]:
        diffs[label] = {}
        for name in names:
            point = fns[label][name](full) - fns[labels[0]][name](full)
            reps = np.array([fns[label][name](i) - fns[labels[0]][name](i) for i in boots])
            reps = reps[np.isfinite(reps)]
            ci = [float(np.quantile(reps, 0.025)), float(np.quantile(reps, 0.975))] if len(reps) else None
            diffs[label][name] = {"diff": _num(point), "ci95": ci}
    return Comparison(first.benchmark, labels, table, diffs, labels[0])


def markdown(comp: Comparison) -> str:
    """Markdown table of values and paired differences."""
    names = list(comp.table[comp.labels[0]])
    lines = [
        f"# Comparison on `{comp.benchmark}`",
        "",
        "| metric | " + " | ".join(comp.labels) + " |",
        "|---|" + "---|" * len(comp.labels),
    ]
    for name in names:
        cells = [_fmt(comp.table[label][name]) for label in comp.labels]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
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
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "An interval that excludes 0 means the difference is unlikely to be resampling noise."]
    return "\n".join(lines) + "\n"


def _num(x):
    return None if x is None or not np.isfinite(x) else float(x)


def _fmt(x):
    return "–" if x is None else f"{x:.4f}"

"""One-line and table renderings of registry metrics (the evaluate summary, docs/metrics.md)."""

from __future__ import annotations

from atomgenbench.evaluator.metrics.registry import REGISTRY, lookup


def markdown_table() -> str:
    """The registry as the Markdown table of docs/metrics.md ("Metric registry")."""
    lines = ["| name | label | unit | better | denominator |", "|---|---|---|---|---|"]
    for m in REGISTRY.values():
        flags = " (legacy)" if m.legacy and "legacy" not in m.label else ""
        lines.append(f"| `{m.name}` | {m.label}{flags} | {m.unit} | {m.direction} | {m.denominator} |")
    return "\n".join(lines) + "\n"


def summary_line(doc: dict) -> str:
    """One line of the ccRMSD, validity and symmetry numbers of a metrics.json (``evaluate``'s summary)."""

    def num(name: str, digits: int = 3) -> str:
        value = lookup(doc, name)
        return "n/a" if value is None else f"{value:.{digits}f}"

    return (
        f"ccRMSD {num('ccrmsd', 4)} Å; valid (structure and composition) {num('validity.both')} "
        f"(targets {num('validity_target.both')}); same space group {num('symmetry.spacegroup')}, "
        f"same crystal system {num('symmetry.crystal_system')} (over all {doc['n_total']} test ids)"
    )


def samples_line(doc: dict) -> str:
    """One line of the multi-sample numbers of a metrics.json (runs with K > 1 samples per id)."""
    s = doc["samples"]
    at_k, best, single = s["match_at_k"], s["best_of_k_rmse"], s["single_sample_match_rate"]
    distinct = s.get("distinct_fraction")
    shown = {"1", "2", "3", "5", "10", "20", "50", "100", str(at_k["k"])}  # a long curve is in metrics.json
    curve = ", ".join(f"@{k} {v:.3f}" for k, v in at_k["curve"].items() if len(at_k["curve"]) <= 6 or k in shown)
    best_text = "n/a (0 matched)" if best["value"] is None else f"{best['value']:.4f} ({best['n']} ids)"
    return (
        f"{at_k['k']} samples per id: match{curve}; best-of-{at_k['k']} RMSE {best_text}; "
        f"single-sample match rate {single['value']:.3f} ± {single['std']:.3f} (std over samples)"
        + ("" if not distinct or distinct["value"] is None else f"; distinct samples {distinct['value']:.3f}")
    )

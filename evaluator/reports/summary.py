"""A multi-model, multi-benchmark Markdown report (used by ``atomgenbench reproduce``).

Per benchmark it tabulates, for every model and baseline, the structure metrics
(match rate, matched-only RMSE, species-blind RMSE, penalised RMSE), the lattice
MAE on Niggli-reduced and on raw (leaderboard) cells, and the histogram and
paired KLD, each with its bootstrap 95% CI where one exists; the published
leaderboard numbers of the AtomBench authors' runs are listed beside ours in
rows labelled "published".
"""

from __future__ import annotations

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.core.numbers import fmt, fmt_ci
from atomgenbench.evaluator.leaderboard.published import PUBLISHED, PUBLISHED_SOURCE, published_rows
from atomgenbench.evaluator.metrics.registry import SYMBOL, ci_of, get, lookup

#: columns of the table of the field's other standard measurements
EXTRA_METRICS = (
    "ccrmsd",
    "validity.structural",
    "validity.composition",
    "validity.both",
    "symmetry.spacegroup",
    "symmetry.crystal_system",
)


def _cell(entry: dict | None, digits: int = 4) -> str:
    return "–" if not entry else fmt(entry.get("value"), digits) + fmt_ci(entry, digits=digits - 1)


def structure_table(results: dict[str, dict], benchmark: str) -> list[str]:
    lines = [
        "| model | parsed | matched | match rate [95% CI] | RMSE (matched) [95% CI] | RMSE anonymous | "
        "RMSE penalised (unmatched = stol) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, m in results.items():
        r, anon = m["rmse"], m.get("rmse_anonymous")  # absent when evaluated without --legacy-anonymous
        anon_cell = f"{fmt(anon['value'])} ({anon['n_matched']})" if anon else "not computed"
        lines.append(
            f"| {label} | {m['n_parsed']}/{m['n_total']} | {r['n_matched']} | "
            f"{fmt(r['match_rate'], 3)}{fmt_ci(r, 'match_rate_ci95', 3)} | {fmt(r['value'])}{fmt_ci(r, digits=3)} | "
            f"{anon_cell} | {_cell(r['penalised'])} |"
        )
    # the count and the RMSE from one environment: the leaderboard's, where the published RMSE was computed
    for p in published_rows(benchmark):
        lines.append(
            f"| published: {p['contribution']} (leaderboard env) | – | {p['n_matched']} | "
            f"{p['n_matched'] / p['n_total']:.3f} | {fmt(p['rmse'])} | – | – |"
        )
    return lines


def mae_table(results: dict[str, dict], benchmark: str, key: str) -> list[str]:
    head = " | ".join(f"{SYMBOL[p]} ({get(f'{key}.{p}').unit})" for p in LATTICE_PARAMS)
    lines = [f"| model | {head} |", "|---|" + "---|" * len(LATTICE_PARAMS)]
    for label, m in results.items():
        lines.append(f"| {label} | " + " | ".join(_cell(m[key].get(p)) for p in LATTICE_PARAMS) + " |")
    if key == "mae_raw":
        for label, p in PUBLISHED.get(benchmark, {}).items():
            lines.append(f"| published: {label} | " + " | ".join(fmt(p["mae"][q]) for q in LATTICE_PARAMS) + " |")
    return lines


def kld_table(results: dict[str, dict]) -> list[str]:
    head = " | ".join(SYMBOL[p] for p in LATTICE_PARAMS)
    lines = [f"| model | metric | {head} |", "|---|---|" + "---|" * len(LATTICE_PARAMS)]
    for label, m in results.items():
        lines.append(
            f"| {label} | histogram KLD | " + " | ".join(_cell(m["kld"].get(p)) for p in LATTICE_PARAMS) + " |"
        )
        lines.append(
            f"| {label} | paired KLD (legacy) | "
            + " | ".join(_cell(m["kld_paired"].get(p)) for p in LATTICE_PARAMS)
            + " |"
        )
    return lines


def metric_cell(m: dict, name: str, digits: int = 4) -> str:
    """``value [low, high]`` of registry metric ``name`` in a metrics.json document."""
    ci = ci_of(m, name)
    return fmt(lookup(m, name), digits) + ("" if ci is None else f" [{ci[0]:.{digits - 1}f}, {ci[1]:.{digits - 1}f}]")


def extra_table(results: dict[str, dict]) -> list[str]:
    """ccRMSD, validity and symmetry agreement per model, with the targets' validity as a reference row."""
    names = [n for n in EXTRA_METRICS if any(lookup(m, n) is not None for m in results.values())]
    if not names:
        return []
    head = " | ".join(f"{get(n).label}" + ("" if get(n).unit == "fraction" else f" ({get(n).unit})") for n in names)
    lines = [f"| model | {head} |", "|---|" + "---|" * len(names)]
    for label, m in results.items():
        lines.append(f"| {label} | " + " | ".join(metric_cell(m, n) for n in names) + " |")
    first = next(iter(results.values()))
    ref = [fmt(lookup(first, n.replace("validity.", "validity_target."))) if "validity." in n else "–" for n in names]
    lines.append("| targets (reference) | " + " | ".join(ref) + " |")
    return lines


def _denominator_note(results: dict[str, dict]) -> list[str]:
    """Which ids each MAE averages (issue 15 item 8): parsed pairs, or the packaged files' placeholders too."""
    lines = [
        "Both MAE tables average over parsed pairs (`n_parsed`); a packaged lattice file instead gives every "
        "failed row the placeholder cell (1 Å, 90°)."
    ]
    short = {label: m for label, m in results.items() if m["n_parsed"] < m["n_total"] and "mae_raw_packaged" in m}
    for label, m in short.items():
        cells = ", ".join(f"{SYMBOL[p]} {fmt(lookup(m, f'mae_raw_packaged.{p}'))}" for p in LATTICE_PARAMS)
        lines.append(
            f"{label}: {m['n_parsed']}/{m['n_total']} parsed, so its packaged files score (all ids, "
            f"{m['n_total'] - m['n_parsed']} placeholders): {cells}."
        )
    return [" ".join(lines), ""]


def benchmark_section(
    benchmark: str, results: dict[str, dict], figures: list[str], sources: dict[str, str] | None = None
) -> list[str]:
    """Markdown lines for one benchmark: three tables and its figures."""
    n_total = next(iter(results.values()))["n_total"] if results else 0
    lines = [
        f"## {benchmark} ({n_total} test crystals)",
        "",
        "### Structure reconstruction (pymatgen StructureMatcher ltol 0.3, stol 0.5, angle_tol 10)",
        "",
        *structure_table(results, benchmark),
        "",
        "Match rate = matched / all test ids (failures count as unmatched). RMSE is pymatgen's "
        "`get_rms_dist`, already divided by (V/N)^(1/3): dimensionless. The leaderboard shows the "
        "matched-only mean rounded to 4 dp. Published rows: the leaderboard's RMSE with the match count "
        "of the same file in the leaderboard's pinned environment (docs/leaderboard-env.md).",
        "",
        "### Lattice MAE, Niggli-reduced cells (the paper's definition)",
        "",
        *mae_table(results, benchmark, "mae"),
        "",
        "### Lattice MAE, raw jarvis cells (the leaderboard's twelve lattice files)",
        "",
        *mae_table(results, benchmark, "mae_raw"),
        "",
        *_denominator_note(results),
        "### KL divergence of lattice-parameter distributions (nats)",
        "",
        *kld_table(results),
        "",
    ]
    extra = extra_table(results)
    if extra:
        lines += [
            "### ccRMSD, validity and symmetry agreement",
            "",
            *extra,
            "",
            "ccRMSD: sqrt(mean d²) of the L∞ distance d between AMD (k = 100) vectors of the Niggli-reduced "
            "prediction and target, over parsed pairs (Å). Validity and agreement rates are over all test ids "
            "(a missing prediction is invalid and disagrees); symprec 0.1.",
            "",
        ]
    if sources:
        lines += ["Evaluated files:", ""] + [f"- {label}: `{path}`" for label, path in sources.items()] + [""]
    lines += [f"![{fig}]({fig})" for fig in figures] + [""]
    return lines


def report_markdown(
    title: str,
    sections: dict[str, dict[str, dict]],
    figures: dict[str, list[str]],
    preamble: list[str],
    sources: dict[str, dict[str, str]] | None = None,
) -> str:
    """The whole report: a preamble (command, hardware, times) then one section per benchmark."""
    lines = [f"# {title}", "", *preamble, ""]
    for benchmark, results in sections.items():
        lines += benchmark_section(benchmark, results, figures.get(benchmark, []), (sources or {}).get(benchmark))
    lines += [
        f"Published rows: {PUBLISHED_SOURCE} (RMSE and raw-cell MAE as the leaderboard shows them; "
        "match counts recomputed from those contributions' files).",
        "",
    ]
    return "\n".join(lines)

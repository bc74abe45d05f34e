"""Write an evaluation to a folder: metrics.json, rows.csv, report.md and PNG figures (atomically)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.core.io import atomic_write_text
from atomgenbench.core.numbers import fmt
from atomgenbench.evaluator.metrics.registry import SYMBOL, ci_of, entry, get, lookup


def dumps(metrics: dict) -> str:
    """metrics.json text (NaN already mapped to null by the result objects)."""
    return json.dumps(metrics, indent=2, sort_keys=False, allow_nan=False) + "\n"


def write_outputs(metrics: dict, out_dir: str | Path, records=None, figures: bool = True) -> list[Path]:
    """Write ``metrics.json``, ``report.md``, ``rows.csv`` and figures into ``out_dir``; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    atomic_write_text(out / "metrics.json", dumps(metrics))
    paths.append(out / "metrics.json")
    if records:
        atomic_write_text(out / "rows.csv", rows_csv(records))
        paths.append(out / "rows.csv")
        if figures:
            from atomgenbench.evaluator.reports.plots import plot_histograms

            title = f"{metrics.get('model', '')} on {metrics['benchmark']}"
            paths.append(plot_histograms(records, metrics, out / "lattice_histograms.png", title=title))
            if metrics.get("crystal_system_confusion"):
                from atomgenbench.evaluator.reports.plots import plot_confusion

                paths.append(plot_confusion(metrics, out / "crystal_system_confusion.png", title=title))
            if "samples" in metrics:
                from atomgenbench.evaluator.reports.plots import plot_match_at_k

                curve = {metrics.get("model") or "model": metrics["samples"]["match_at_k"]["curve"]}
                paths.append(plot_match_at_k(curve, out / "match_at_k.png", title=title))
    atomic_write_text(out / "report.md", markdown(metrics))
    paths.append(out / "report.md")
    return paths


def rows_csv(records) -> str:
    """Per-id output: parse status, composition match, RMS values and lattice parameters."""
    buf = io.StringIO()
    fields = [
        "id",
        "parsed",
        "reason",
        "n_atoms_pred",
        "n_atoms_target",
        "same_composition",
        "rms",
        "rms_anonymous",
        "match_note",
        "crystal_system",
    ]
    fields += [
        f"{kind}_{side}_{p}" for kind in ("niggli", "raw") for side in ("pred", "target") for p in LATTICE_PARAMS
    ]
    fields += ROW_METRIC_FIELDS
    multi = any("n_distinct" in r.extra for r in records)  # runs with K > 1 samples per id
    if multi:
        fields += SAMPLE_FIELDS
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(fields)
    for r in records:
        d = asdict(r)
        row = [d[f] for f in fields[:10]]
        for kind in ("niggli", "raw"):
            for side in ("pred", "target"):
                vals = d[f"{kind}_{side}"] or (None,) * 6
                row += ["" if v is None else f"{v:.6f}" for v in vals]
        row += [d[f] for f in ROW_METRIC_FIELDS]
        if multi:
            rms = [r.rms, *r.extra.get("sample_rms", [])]
            row += [sum(v is not None for v in rms), r.extra.get("n_samples_parsed"), r.extra.get("n_distinct")]
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


#: per-row multi-sample columns (runs with K > 1): matched samples, parsed samples, StructureMatcher groups
SAMPLE_FIELDS = ["samples_matched", "samples_parsed", "samples_distinct"]

#: per-row values of the ccRMSD, validity and symmetry metrics (after the lattice columns)
ROW_METRIC_FIELDS = [
    "amd_distance",
    "valid_structural",
    "valid_composition",
    "validity_note",
    "target_valid_structural",
    "target_valid_composition",
    "spacegroup_pred",
    "spacegroup_target",
    "crystal_system_pred",
    "metric_note",
]


def markdown(m: dict) -> str:
    """Human-readable report of a metrics.json document."""
    lines = [f"# {m.get('model') or 'predictions'} on `{m['benchmark']}`", ""]
    if m.get("kind") == "float":
        mae = m["mae"]
        lines += [
            f"MAE (leaderboard value): **{fmt(mae['value'])}** over {mae['n']} of {m['n_total']} test ids.",
            "",
            *_failure_lines(m),
        ]
        return "\n".join(lines) + "\n"
    n_total, n_parsed = m["n_total"], m["n_parsed"]
    s = m["settings"]
    tol = s["matcher"]
    lines += [
        f"Test ids: {n_total}; predicted: {m['n_predicted']}; parsed: {n_parsed}.",
        "",
        f"## Structure matching (StructureMatcher ltol {tol['ltol']}, stol {tol['stol']}, "
        f"angle_tol {tol['angle_tol']}°)",
        "",
        *_metric_table(m, ["rmse", "rmse.match_rate", "rmse.penalised", "rmse_anonymous", "rmse_anonymous.match_rate"]),
        "",
        "RMS values are pymatgen's, normalised by (V/N)^(1/3): dimensionless. The leaderboard shows the "
        "matched-only species-aware mean.",
        "",
        *_samples_lines(m),
        *_lattice_lines(m),
        "",
        f"KLD: KL(P_target ‖ Q_pred) on {s['kld_bins']} equal-width bins over the target range plus "
        f"under/overflow bins, additive smoothing ε = {s['kld_epsilon']} per bin"
        + (
            f"; the outer edges are widened by {s['kld_edge_tolerance']:g} bin widths (float noise)."
            if s.get("kld_edge_tolerance")
            else "."
        ),
        f"Bootstrap: {s['n_bootstrap']} resamples of test ids, seed {s['seed']}, percentile intervals.",
        "",
    ]
    if "ccrmsd" in m:
        lines += [
            f"## ccRMSD (AMD, k = {s.get('amd_k')}; no matching)",
            "",
            *_metric_table(m, ["ccrmsd", "ccrmsd_legacy"]),
            "",
            "d = L∞ distance between the AMD vectors of the Niggli-reduced prediction and target (Å), per row "
            "in rows.csv (`amd_distance`).",
            "",
        ]
    if "validity" in m:
        lines += [*_validity_lines(m), ""]
    if "symmetry" in m:
        lines += [*_symmetry_lines(m), ""]
    lines += [
        "## By crystal system of the target",
        "",
        "| system | n | parsed | matched | match rate | RMSE | MAE a | MAE c | MAE γ |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for system, g in m["by_crystal_system"].items():
        lines.append(
            f"| {system} | {g['n']} | {g['n_parsed']} | {g['n_matched']} | {fmt(g['match_rate'])} | "
            f"{fmt(g['rmse'])} | {fmt(g['mae']['a'])} | {fmt(g['mae']['c'])} | {fmt(g['mae']['gamma'])} |"
        )
    if m.get("by_stratum"):
        lines += ["", *stratum_lines(m)]
    if m.get("leaderboard_env"):  # the pymatgen-version section (evaluator/reports/env_report.py)
        from atomgenbench.evaluator.reports.env_report import environment_markdown

        lines += ["", *environment_markdown(m["leaderboard_env"])]
    lines += ["", *_failure_lines(m), "", "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items())]
    return "\n".join(lines) + "\n"


def stratum_lines(m: dict) -> list[str]:
    """The ``by_stratum`` table: every leakage stratum's counts, match rate, RMSE, MAE and validity."""
    mae_heads = [f"MAE {SYMBOL[p]} ({get(f'mae.{p}').unit})" for p in LATTICE_PARAMS]
    head = ["stratum", "n", "parsed", "matched", "match rate", "RMSE", *mae_heads]
    head += ["structural validity", "composition validity (targets)", "same space group"]
    k = next((g["samples"]["k"] for g in m["by_stratum"].values() if g.get("samples")), None)
    if k:  # runs with K > 1 samples per id
        head += [f"match@{k}", "distinct samples"]
    lines = [
        "## By leakage stratum (test crystal vs the training split)",
        "",
        "twin: a training crystal matches it (StructureMatcher of `atomgenbench data check`); seen-formula: "
        "no twin, but its reduced formula is in the training split; unseen: neither. Rates are over the "
        "stratum's ids, RMSE over its matched ids, MAE over its parsed pairs.",
        "",
        "| " + " | ".join(head) + " |",
        "|---|" + "---|" * (len(head) - 1),
    ]
    for name, g in m["by_stratum"].items():
        v, vt = g.get("validity") or {}, g.get("validity_target") or {}
        cells = [name, g["n"], g["n_parsed"], g["n_matched"], fmt(g["match_rate"], 3), fmt(g["rmse"])]
        cells += [fmt((g.get("mae") or {}).get(p), 3) for p in LATTICE_PARAMS]
        cells += [
            fmt(v.get("structural"), 3),
            f"{fmt(v.get('composition'), 3)} ({fmt(vt.get('composition'), 3)})",
            fmt((g.get("symmetry") or {}).get("spacegroup"), 3),
        ]
        if k:
            sm = g.get("samples") or {}
            cells += [fmt(sm.get("match_at_k"), 3), fmt(sm.get("distinct_fraction"), 3)]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines


def _cell(m: dict, name: str) -> str:
    """``value [low, high]`` of one registry metric in a metrics.json document."""
    ci = ci_of(m, name)
    return fmt(lookup(m, name)) + ("" if ci is None else f" [{ci[0]:.4f}, {ci[1]:.4f}]")


def _n(m: dict, name: str) -> str:
    metric = get(name)
    if metric.layout == "rmse":
        fam = m[metric.family]
        return str(fam["n_matched"] if metric.key is None else fam["n_total"])
    return str(entry(m, name).get("n", "–"))


SAMPLE_METRICS = [
    "samples.match_at_k",
    "samples.best_of_k_rmse",
    "samples.single_sample_match_rate",
    "samples.distinct_fraction",
]


def _samples_lines(m: dict) -> list[str]:
    """The multi-sample section (runs with K > 1 samples per id); every other number is sample 0's."""
    if "samples" not in m:
        return []
    at_k = m["samples"]["match_at_k"]
    curve = " | ".join(f"{v:.3f}" for v in at_k["curve"].values())
    return [
        f"## Many samples per id (K = {at_k['k']}; every other section scores sample 0)",
        "",
        *_metric_table(m, [n for n in SAMPLE_METRICS if n.split(".")[1] in m["samples"]]),
        "",
        "| k | " + " | ".join(at_k["curve"]) + " |",
        "|---|" + "---|" * len(at_k["curve"]),
        f"| match@k | {curve} |",
        "",
    ]


def _metric_table(m: dict, names: list[str]) -> list[str]:
    """A value / n / denominator table of registry metrics, labelled by the registry."""
    lines = ["| metric | value (95% CI) | n | over | better |", "|---|---|---|---|---|"]
    for name in names:
        if lookup(m, name) is None and name.split(".")[0] not in m:
            continue  # a metric this evaluation did not compute (e.g. rmse_anonymous without --legacy-anonymous)
        metric = get(name)
        unit = "" if metric.unit == "fraction" else f" ({metric.unit.split(' (')[0]})"
        lines.append(
            f"| {metric.label}{unit} | {_cell(m, name)} | {_n(m, name)} | {metric.denominator} | {metric.direction} |"
        )
    return lines


def _lattice_lines(m: dict) -> list[str]:
    """Lattice MAE and KLD per parameter, each column headed by its denominator (issue 15 item 8)."""
    n_total, n_parsed = m["n_total"], m["n_parsed"]
    n_pairs = entry(m, "mae.a").get("n", n_parsed)
    packaged = "mae_raw_packaged" in m
    head = [
        f"Niggli MAE, {n_pairs} parsed pairs (95% CI)",
        f"raw-cell MAE, {entry(m, 'mae_raw.a').get('n', n_parsed)} parsed pairs",
    ]
    if packaged:
        head.append(f"raw-cell MAE as packaged: all {n_total} ids, {n_total - n_parsed} placeholders")
    head += [f"KLD nats (95% CI), targets {n_total} / predictions {n_parsed}", "paired KLD (legacy)"]
    lines = [
        "## Lattice parameters",
        "",
        "Niggli-reduced cells (the paper) and raw jarvis cells (the leaderboard's lattice files). The MAE "
        "columns over parsed pairs leave failed rows out; the packaged leaderboard lattice files give every "
        "failed row the placeholder cell (1 Å, 90°), which the 'as packaged' column includes.",
        "",
        "| parameter | " + " | ".join(head) + " |",
        "|---|" + "---|" * len(head),
    ]
    for p in LATTICE_PARAMS:
        cells = [_cell(m, f"mae.{p}"), fmt(lookup(m, f"mae_raw.{p}"))]
        if packaged:
            cells.append(fmt(lookup(m, f"mae_raw_packaged.{p}")))
        cells += [_cell(m, f"kld.{p}"), fmt(lookup(m, f"kld_paired.{p}"))]
        lines.append(f"| {p} ({get(f'mae.{p}').unit}) | " + " | ".join(cells) + " |")
    return lines


def _validity_lines(m: dict) -> list[str]:
    lines = [
        "## Validity",
        "",
        "| check | predictions (95% CI) | targets (reference) | over |",
        "|---|---|---|---|",
    ]
    for key in ("structural", "composition", "both"):
        metric = get(f"validity.{key}")
        lines.append(
            f"| {metric.label} | {_cell(m, metric.name)} | {fmt(lookup(m, f'validity_target.{key}'))} | "
            f"all {m['n_total']} test ids |"
        )
    v = m["settings"].get("validity", {})
    lines += [
        "",
        f"Structural: every interatomic distance (periodic images included) ≥ {v.get('min_distance')} Å and "
        f"volume ≥ {v.get('min_volume')} Å³. Composition: SMACT charge neutrality with the Pauling "
        "electronegativity test (CDVAE's rule; single elements and all-metal compositions are valid; an "
        "element without SMACT oxidation states makes it invalid). Missing or unparseable predictions are "
        f"invalid. Reasons per row: rows.csv `validity_note` ({len(m.get('notes') or {})} rows noted).",
    ]
    return lines


def _symmetry_lines(m: dict) -> list[str]:
    sym = m["settings"].get("symmetry", {})
    lines = [
        f"## Symmetry agreement (SpacegroupAnalyzer, symprec {m['settings']['symprec']}, "
        f"angle tolerance {sym.get('angle_tolerance')}°)",
        "",
        *_metric_table(m, ["symmetry.spacegroup", "symmetry.crystal_system"]),
        "",
    ]
    table = m.get("crystal_system_confusion")
    if table:
        systems = table["systems"]
        lines += [
            f"Crystal systems, target (rows) × prediction (columns), {table['n']} test ids with both known "
            f"({table['n_undetermined']} parsed predictions undetermined):",
            "",
            "| target \\ prediction | " + " | ".join(systems) + " |",
            "|---|" + "---|" * len(systems),
        ]
        for system, row in zip(systems, table["matrix"]):
            lines.append(f"| {system} | " + " | ".join(str(x) for x in row) + " |")
        lines.append("")
    names = [f"mae_same_system.{p}" for p in LATTICE_PARAMS]
    n = entry(m, names[0]).get("n", 0)
    lines.append(
        f"Niggli MAE over the {n} parsed pairs whose crystal system agrees: "
        + ", ".join(f"{p} {_cell(m, name)} {get(name).unit}" for p, name in zip(LATTICE_PARAMS, names))
    )
    return lines


def _failure_lines(m: dict, limit: int = 50) -> list[str]:
    failures = m.get("failures") or {}
    if not failures:
        return ["No failed rows."]
    out = [f"## Failed rows ({len(failures)}; counted as unmatched)", ""]
    out += [f"- `{k}`: {v}" for k, v in list(failures.items())[:limit]]
    if len(failures) > limit:
        out.append(f"- … {len(failures) - limit} more in metrics.json")
    return out

"""Write an evaluation to a folder: metrics.json, rows.csv, report.md and PNG figures (atomically)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path

from atomgenbench.benchmarks.atomgen.predictions import atomic_write_text
from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS


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
            from atomgenbench.evaluator.plots import plot_histograms

            paths.append(
                plot_histograms(
                    records,
                    metrics,
                    out / "lattice_histograms.png",
                    title=f"{metrics.get('model', '')} on {metrics['benchmark']}",
                )
            )
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
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(fields)
    for r in records:
        d = asdict(r)
        row = [d[f] for f in fields[:10]]
        for kind in ("niggli", "raw"):
            for side in ("pred", "target"):
                vals = d[f"{kind}_{side}"] or (None,) * 6
                row += ["" if v is None else f"{v:.6f}" for v in vals]
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def _fmt(x, digits: int = 4) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _ci(entry: dict, key: str = "ci95") -> str:
    ci = entry.get(key)
    return "" if not ci or ci[0] is None else f" [{ci[0]:.4f}, {ci[1]:.4f}]"


def markdown(m: dict) -> str:
    """Human-readable report of a metrics.json document."""
    lines = [f"# {m.get('model') or 'predictions'} on `{m['benchmark']}`", ""]
    if m.get("kind") == "float":
        mae = m["mae"]
        lines += [
            f"MAE (leaderboard value): **{_fmt(mae['value'])}** over {mae['n']} of {m['n_total']} test ids.",
            "",
            *_failure_lines(m),
        ]
        return "\n".join(lines) + "\n"
    r, ra = m["rmse"], m["rmse_anonymous"]
    lines += [
        f"Test ids: {m['n_total']}; predicted: {m['n_predicted']}; parsed: {m['n_parsed']}.",
        "",
        "## Structure matching (StructureMatcher ltol 0.3, stol 0.5, angle_tol 10°)",
        "",
        "| metric | value (95% CI) | n |",
        "|---|---|---|",
        f"| RMSE, species-aware, matched only (leaderboard) | {_fmt(r['value'])}{_ci(r)} | {r['n_matched']} |",
        f"| match rate (matched / all test ids) | {_fmt(r['match_rate'])}{_ci(r, 'match_rate_ci95')} "
        f"| {r['n_total']} |",
        f"| RMSE penalised (unmatched = 0.5) | {_fmt(r['penalised']['value'])}{_ci(r['penalised'])} | {r['n_total']} |",
        f"| RMSE, species-blind (legacy leaderboard) | {_fmt(ra['value'])}{_ci(ra)} | {ra['n_matched']} |",
        f"| match rate, species-blind | {_fmt(ra['match_rate'])} | {ra['n_total']} |",
        "",
        "RMS values are pymatgen's, normalised by (V/N)^(1/3): dimensionless.",
        "",
        "## Lattice parameters (Niggli-reduced; MAE over parsed pairs)",
        "",
        "| parameter | MAE (95% CI) | MAE raw cell | KLD nats (95% CI) | paired KLD (legacy) |",
        "|---|---|---|---|---|",
    ]
    for p in LATTICE_PARAMS:
        mae, raw, kld, kp = m["mae"][p], m["mae_raw"][p], m["kld"][p], m["kld_paired"][p]
        lines.append(
            f"| {p} ({mae.get('units', '')}) | {_fmt(mae['value'])}{_ci(mae)} | {_fmt(raw['value'])} | "
            f"{_fmt(kld['value'])}{_ci(kld)} | {_fmt(kp['value'])} |"
        )
    s = m["settings"]
    lines += [
        "",
        f"KLD: KL(P_target ‖ Q_pred) on {s['kld_bins']} equal-width bins over the target range plus "
        f"under/overflow bins, additive smoothing ε = {s['kld_epsilon']} per bin.",
        f"Bootstrap: {s['n_bootstrap']} resamples of test ids, seed {s['seed']}, percentile intervals.",
        "",
        "## By crystal system of the target",
        "",
        "| system | n | parsed | matched | match rate | RMSE | MAE a | MAE c | MAE γ |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for system, g in m["by_crystal_system"].items():
        lines.append(
            f"| {system} | {g['n']} | {g['n_parsed']} | {g['n_matched']} | {_fmt(g['match_rate'])} | "
            f"{_fmt(g['rmse'])} | {_fmt(g['mae']['a'])} | {_fmt(g['mae']['c'])} | {_fmt(g['mae']['gamma'])} |"
        )
    lines += ["", *_failure_lines(m), "", "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items())]
    return "\n".join(lines) + "\n"


def _failure_lines(m: dict, limit: int = 50) -> list[str]:
    failures = m.get("failures") or {}
    if not failures:
        return ["No failed rows."]
    out = [f"## Failed rows ({len(failures)}; counted as unmatched)", ""]
    out += [f"- `{k}`: {v}" for k, v in list(failures.items())[:limit]]
    if len(failures) > limit:
        out.append(f"- … {len(failures) - limit} more in metrics.json")
    return out

"""PNG figures like the AtomBench paper's Figs 3-8 (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from atomgenbench.benchmarks.atomgen.predictions import default_file_mode
from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.evaluator.lattice import UNITS, as_array

HIST_PARAMS = ("a", "c", "gamma")
LABELS = {"a": "a", "b": "b", "c": "c", "alpha": "α", "beta": "β", "gamma": "γ"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    """Save a figure atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, default_file_mode())  # the umask applies, not mkstemp's owner-only mode
    try:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
        _pyplot().close(fig)
    return path


def plot_histograms(records, metrics: dict, path: Path, title: str = "") -> Path:
    """Overlaid target / predicted histograms of Niggli a, c and γ with the KLD of each panel."""
    plt = _pyplot()
    pred = as_array([r.niggli_pred if r.parsed else None for r in records])
    tgt = as_array([r.niggli_target for r in records])
    fig, axes = plt.subplots(1, len(HIST_PARAMS), figsize=(4.2 * len(HIST_PARAMS), 3.4))
    for ax, name in zip(axes, HIST_PARAMS):
        j = LATTICE_PARAMS.index(name)
        t, p = tgt[:, j][np.isfinite(tgt[:, j])], pred[:, j][np.isfinite(pred[:, j])]
        entry = metrics["kld"][name]
        edges = np.asarray(entry.get("edges") or np.histogram_bin_edges(t, 20))
        lo = min(edges[0], *(p.min(initial=edges[0]),))
        hi = max(edges[-1], *(p.max(initial=edges[-1]),))
        step = edges[1] - edges[0] if len(edges) > 1 else 1.0
        bins = np.arange(lo, hi + step, step) if (hi - lo) / step < 400 else 60
        ax.hist(t, bins=bins, alpha=0.55, label="target", color="tab:blue")
        ax.hist(p, bins=bins, alpha=0.55, label="predicted", color="tab:orange")
        kld = entry.get("value")
        ax.set_title(f"{LABELS[name]}  KLD = {kld:.3f} nats" if kld is not None else LABELS[name])
        ax.set_xlabel(f"Niggli {LABELS[name]} ({UNITS[name]})")
        ax.set_ylabel("count")
    axes[0].legend()
    if title:
        fig.suptitle(title, y=1.04)
    return _save(fig, path)


def plot_bars(results: dict[str, dict], out_dir: Path, prefix: str = "") -> list[Path]:
    """Bar charts across models: KLD per parameter, MAE per parameter, RMSE and match rate."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    labels = list(results)
    paths = []
    for key, ylabel in (("kld", "KLD (nats)"), ("mae", "MAE")):
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
        for ax, group in zip(axes, (LATTICE_PARAMS[:3], LATTICE_PARAMS[3:])):
            width = 0.8 / max(1, len(labels))
            for m, label in enumerate(labels):
                vals = [_val(results[label][key][p]) for p in group]
                errs = _errs(results[label][key], group, vals)
                ax.bar(np.arange(len(group)) + m * width, vals, width, yerr=errs, label=label, capsize=3)
            ax.set_xticks(np.arange(len(group)) + width * (len(labels) - 1) / 2, [LABELS[p] for p in group])
            unit = "Å" if group[0] == "a" else "°"
            ax.set_ylabel(ylabel if key == "kld" else f"{ylabel} ({unit})")
        axes[0].legend(fontsize=8)
        paths.append(_save(fig, out_dir / f"{prefix}{key}_bars.png"))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, field, ylabel in (
        (axes[0], "value", "RMSE (matched, dimensionless)"),
        (axes[1], "match_rate", "match rate"),
    ):
        vals = [_val(results[label]["rmse"].get(field)) for label in labels]
        ci_key = "ci95" if field == "value" else "match_rate_ci95"
        errs = _errs_list([results[label]["rmse"].get(ci_key) for label in labels], vals)
        ax.bar(labels, vals, yerr=errs, capsize=3, color="tab:green")
        ax.set_ylabel(ylabel)
        ax.tick_params(axis="x", rotation=20)
    paths.append(_save(fig, out_dir / f"{prefix}rmse_bars.png"))
    return paths


def _val(x) -> float:
    if isinstance(x, dict):
        x = x.get("value")
    return float("nan") if x is None else float(x)


def _errs(section: dict, group, vals):
    return _errs_list([section[p].get("ci95") for p in group], vals)


def _errs_list(cis, vals):
    low, high = [], []
    for ci, v in zip(cis, vals):
        if ci is None or not np.isfinite(v) or ci[0] is None:
            low.append(0.0)
            high.append(0.0)
        else:
            low.append(max(0.0, v - ci[0]))
            high.append(max(0.0, ci[1] - v))
    return np.array([low, high])

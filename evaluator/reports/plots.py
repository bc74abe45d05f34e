"""PNG figures like the AtomBench paper's Figs 3-8 (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.core.io import atomic_path
from atomgenbench.evaluator.metrics.registry import SYMBOL, ci_of, get, lookup
from atomgenbench.evaluator.scoring.lattice import UNITS, as_array

HIST_PARAMS = ("a", "c", "gamma")
LABELS = SYMBOL


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    """Save a figure atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight")
    finally:
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


def plot_confusion(metrics: dict, path: Path, title: str = "") -> Path:
    """7 × 7 heat map of target vs predicted crystal system (``crystal_system_confusion``)."""
    plt = _pyplot()
    table = metrics["crystal_system_confusion"]
    matrix = np.asarray(table["matrix"], float)
    systems = table["systems"]
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    shown = ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            color = "white" if count > matrix.max() / 2 else "black"
            ax.text(j, i, f"{int(count)}", ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(len(systems)), systems, rotation=45, ha="right")
    ax.set_yticks(range(len(systems)), systems)
    ax.set_xlabel("prediction")
    ax.set_ylabel("target")
    agree = get("symmetry.crystal_system")
    rate = lookup(metrics, agree.name)
    ax.set_title(
        f"{title}\n{agree.label} {rate:.3f} (symprec {metrics['settings']['symprec']})" if rate is not None else title
    )
    fig.colorbar(shown, ax=ax, label=f"test ids ({table['n']} with both systems known)")
    return _save(fig, path)


def plot_bars(results: dict[str, dict], out_dir: Path, prefix: str = "") -> list[Path]:
    """Bar charts across models: KLD per parameter, MAE per parameter, RMSE and match rate."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    labels = list(results)
    paths = []
    for key in ("kld", "mae"):
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
        for ax, group in zip(axes, (LATTICE_PARAMS[:3], LATTICE_PARAMS[3:])):
            width = 0.8 / max(1, len(labels))
            for m, label in enumerate(labels):
                vals = [_val(results[label][key][p]) for p in group]
                errs = _errs(results[label][key], group, vals)
                ax.bar(np.arange(len(group)) + m * width, vals, width, yerr=errs, label=label, capsize=3)
            ax.set_xticks(np.arange(len(group)) + width * (len(labels) - 1) / 2, [LABELS[p] for p in group])
            first = get(f"{key}.{group[0]}")
            ax.set_ylabel(f"{first.label.rsplit(' ', 1)[0]} ({first.unit})")
        axes[0].legend(fontsize=8)
        paths.append(_save(fig, out_dir / f"{prefix}{key}_bars.png"))
    panels = ("rmse", "rmse.match_rate", "ccrmsd", "validity.both", "symmetry.spacegroup")
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6))
    for ax, name in zip(axes, panels):
        metric = get(name)
        vals = [_val(lookup(results[label], name)) for label in labels]
        errs = _errs_list([ci_of(results[label], name) for label in labels], vals)
        ax.bar(labels, vals, yerr=errs, capsize=3, color="tab:green")
        ax.set_title(metric.label, fontsize=10)
        ax.set_ylabel(metric.unit.split(" (")[0])
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


def plot_match_at_k(curves: dict[str, dict], path: Path, title: str = "") -> Path:
    """match@k against k, one line per model (``{label: metrics.json["samples"]["match_at_k"]["curve"]}``)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for label, curve in curves.items():
        ks = sorted(int(k) for k in curve)
        ax.plot(ks, [curve[str(k)] for k in ks], marker="o", markersize=3, label=label)
    ax.set_xlabel("k (samples per test crystal)")
    ax.set_ylabel("match@k (fraction of all test ids)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)

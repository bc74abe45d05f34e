"""Learning curves of a finished model run: its snapshots scored like the final checkpoint.

A ``cpu`` run of AtomGPT, CDVAE or FlowMM saves weights-only snapshots at fixed minutes of
training (``snapshot_minutes``, :func:`atomgenbench.runners.training.snapshots`). For each
snapshot and the final checkpoint this module reconstructs every test crystal with the run's
own settings and seed, scores it with the evaluator (k = 1), and reads the validation loss
that the training log (``work/logs/version_0/metrics.csv``) recorded at that epoch.
:mod:`bench_model` (``--curve``) calls it and writes the figure and the JSON.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.benchmarks.atomgen.predictions import Predictions
from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.benchmarks.atomgen.strata import STRATA
from atomgenbench.core.executors import Executor
from atomgenbench.runners.api import RUN_CONFIG_NAME
from atomgenbench.runners.base import RunConfig
from atomgenbench.runners.registry import get_runner
from atomgenbench.runners.training import snapshots


def run_config(run_dir: Path) -> RunConfig:
    """The :class:`RunConfig` a finished ``atomgenbench run`` folder was made with."""
    saved = json.loads((run_dir / "work" / RUN_CONFIG_NAME).read_text(encoding="utf-8"))
    return RunConfig(
        model=saved["model"],
        benchmark=saved["benchmark"],
        preset=saved["preset"],
        seed=int(saved["seed"]),
        params=saved["params"],
        out_dir=run_dir,
        progress=False,
    )


def validation_losses(config: RunConfig) -> list[tuple[int, float]]:
    """(epoch, val_loss) rows of the run's training log, in order."""
    rows = []
    for log in sorted((config.work_dir / "logs").glob("version_*/metrics.csv")):
        with log.open(newline="", encoding="utf-8") as fh:
            rows += [(int(r["epoch"]), float(r["val_loss"])) for r in csv.DictReader(fh) if r.get("val_loss")]
    return rows


def point_of(checkpoint: Path, config: RunConfig) -> dict:
    """Training time, epoch and step at which ``checkpoint`` was written."""
    import torch

    side = checkpoint.with_suffix(".json")
    if side.is_file():
        return json.loads(side.read_text(encoding="utf-8"))
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    point = {"epoch": int(state.get("epoch", -1)), "step": int(state.get("global_step", -1))}
    if checkpoint.stem.startswith("minute-"):  # written before the side file existed: the mark itself
        point["minutes"] = float(checkpoint.stem.split("-", 1)[1])
        point["train_seconds"] = None
    return point


def score(predictions: Predictions, benchmark: str, workers: int) -> dict:
    """k = 1 match count and rate, overall and per stratum, and the Niggli lattice MAE."""
    from atomgenbench.workflows.evaluation import EvaluationSettings, evaluate_input

    executor = Executor.create("process", workers)
    m = evaluate_input(Path("."), benchmark, EvaluationSettings(n_bootstrap=10), executor, predictions=predictions)
    m = m.metrics
    out = {"n_matched": m["rmse"]["n_matched"], "n_total": m["n_total"], "match_rate": m["rmse"]["match_rate"]}
    out["strata"] = {s: {k: m["by_stratum"][s][k] for k in ("n", "n_matched")} for s in STRATA if s in m["by_stratum"]}
    out["niggli_mae"] = {p: m["mae"][p]["value"] for p in LATTICE_PARAMS}
    return out


def reconstructed(runner, data, checkpoint: Path, config: RunConfig) -> Predictions:
    """Sample 0 of every test crystal from ``checkpoint``, with the run's settings and seed."""
    records = list(runner.reconstruct(data, checkpoint, config))
    structures = {r.id: r.structure or "" for r in records if r.sample == 0}
    failures = {r.id: r.failure for r in records if r.sample == 0 and r.failure}
    return Predictions(config.benchmark, config.model, structures, failures, seed=config.seed)


def curve(run_dir: Path, workers: int = 1) -> dict:
    """Every snapshot of the run in ``run_dir``, and its final predictions, scored."""
    from atomgenbench.workflows.evaluation import load_input

    config = run_config(run_dir)
    runner = get_runner(config.model)
    data = load_benchmark(config.benchmark)
    losses = validation_losses(config)
    fit = json.loads((config.work_dir / "fit.json").read_text(encoding="utf-8"))
    points = []
    for snap in [*snapshots(config), None]:
        start = time.perf_counter()
        if snap is None:  # the run's own predictions: the final (best-validation) checkpoint
            point = {"checkpoint": "final", "minutes": None, "train_seconds": float(fit["seconds"]), "epoch": None}
            preds = load_input(run_dir, config.benchmark)
        else:
            point = {"checkpoint": snap.name, **point_of(snap, config)}
            preds = reconstructed(runner, data, runner.snapshot_checkpoint(snap, config), config)
        point["reconstruct_seconds"] = round(time.perf_counter() - start, 1)
        seen = [loss for e, loss in losses if point["epoch"] is None or e <= point["epoch"]]
        point["val_loss"] = min(seen) if snap is None and seen else (seen[-1] if seen else None)
        point.update(score(preds, config.benchmark, workers))
        points.append(point)
        print(json.dumps({k: v for k, v in point.items() if k not in ("strata", "niggli_mae")}), flush=True)
    head = {"model": config.model, "benchmark": config.benchmark, "preset": config.preset, "seed": config.seed}
    return {**head, "run": str(run_dir), "points": points}


def plot(result: dict, out: Path) -> None:
    """Match rate (overall and per stratum) and validation loss against training minutes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [p for p in result["points"] if p.get("train_seconds") is not None or p.get("minutes") is not None]
    minutes = [p["train_seconds"] / 60 if p.get("train_seconds") is not None else p["minutes"] for p in pts]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(minutes, [p["match_rate"] for p in pts], "o-", color="black", label="all")
    for stratum in STRATA:
        if not pts or not pts[0]["strata"].get(stratum, {}).get("n"):
            continue  # no test crystal in this stratum (alex has no twins)
        rates = [p["strata"][stratum]["n_matched"] / max(1, p["strata"][stratum]["n"]) for p in pts]
        left.plot(minutes, rates, ".--", label=stratum)
    left.set(xlabel="training wall time (min)", ylabel="match rate, k = 1", ylim=(0, 1))
    left.legend(fontsize=8)
    right.plot(minutes, [p["val_loss"] for p in pts], "o-", color="tab:red")
    right.set(xlabel="training wall time (min)", ylabel="validation loss")
    fig.suptitle(f"{result['model']} {result['preset']} on {result['benchmark']} (seed {result['seed']})")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def markdown(results: list[dict]) -> str:
    """One table row per point of each curve: time, epoch, match count (all, per stratum), MAE, val loss."""
    head = "| model | benchmark | checkpoint | training min | epoch | matched | twin | seen-formula | unseen |"
    head += " Niggli MAE a (Å) | MAE α (°) | val loss |\n|" + "---|" * 12 + "\n"
    rows = []
    for res in results:
        for p in res["points"]:
            minutes = p["train_seconds"] / 60 if p.get("train_seconds") is not None else p["minutes"]
            strata = [f"{p['strata'][s]['n_matched']}/{p['strata'][s]['n']}" for s in STRATA]
            val = f"{p['val_loss']:.3g}" if p.get("val_loss") is not None else "–"
            epoch = "–" if p.get("epoch") is None else str(p["epoch"])
            cells = [res["model"], res["benchmark"], p["checkpoint"], f"{minutes:.1f}", epoch]
            cells += [f"{p['n_matched']}/{p['n_total']}", *strata]
            cells += [f"{p['niggli_mae']['a']:.3f}", f"{p['niggli_mae']['alpha']:.2f}", val]
            rows.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(rows) + "\n"


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Print the learning-curve table of curve JSON files.")
    ap.add_argument("files", nargs="+", type=Path)
    print(markdown([json.loads(f.read_text(encoding="utf-8")) for f in ap.parse_args().files]), end="")

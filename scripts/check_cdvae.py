#!/usr/bin/env python
"""What a trained CDVAE's match count comes from: the decoder's denoising, or the lattice head alone.

Given a finished ``atomgenbench run cdvae`` folder, the script decodes the test crystals of its
benchmark again from the same checkpoint under sampler variants and matches each set with the
evaluator (leaderboard tolerances):

* ``as run``: the run's own sampler settings;
* ``no denoising``: ``n_step_each=0``: the lattice head's cell, the target's atom types, uniform
  random fractional coordinates (what the decoder starts from);
* ``more steps``: ``n_step_each=100`` (the paper preset's count);
* ``step_lr x10``, ``step_lr /10``: the Langevin step size.

It prints, per variant, the matched count and how many of the ``as run`` matches it shares, then
the latent's use: the mean KL per latent dimension over the test crystals and the number of
dimensions whose posterior mean varies across crystals (std > 0.1); a collapsed latent has few.

    python scripts/check_cdvae.py /work/runs/cdvae-dft_3d_Tc_supercon [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.benchmarks.atomgen.predictions import Predictions
from atomgenbench.core.executors import Executor
from atomgenbench.evaluator.metrics.evaluate import evaluate
from atomgenbench.runners.base import RunConfig
from atomgenbench.runners.cdvae.runner import CDVAERunner

#: variant -> (sampler parameters set, factor on the run's step_lr)
VARIANTS = {
    "as run": ({}, 1.0),
    "no denoising": ({"n_step_each": 0}, 1.0),
    "more steps": ({"n_step_each": 100}, 1.0),
    "step_lr x10": ({}, 10.0),
    "step_lr /10": ({}, 0.1),
}


def checkpoint(run: Path) -> Path:
    """The run's checkpoint (``work/fit.json`` names it relative to ``work/``)."""
    path = Path(json.loads((run / "work" / "fit.json").read_text())["checkpoint"])
    return path if path.is_absolute() else run / "work" / path


def decode(run: Path, data, params: dict, seed: int) -> Predictions:
    config = RunConfig("cdvae", data.name, "cpu", seed, params=params, out_dir=run, progress=False)
    recs = list(CDVAERunner().reconstruct(data, checkpoint(run), config))
    return Predictions(
        data.name, "cdvae", {r.id: r.structure or "" for r in recs}, {r.id: r.failure for r in recs if r.failure}
    )


def matched(preds: Predictions, benchmark: str) -> set[str]:
    result = evaluate(preds, benchmark, executor=Executor.create("process", 2), n_boot=0)
    return {r.id for r in result.records if r.rms is not None}


def latent_use(run: Path, data) -> tuple[float, int, int]:
    """(mean KL per dimension, dimensions whose posterior mean has std > 0.1, latent size) over the test set."""
    from torch_geometric.data import Batch

    from atomgenbench.runners.cdvae.data import crystal_record, fill_tc
    from atomgenbench.runners.cdvae.lightning import CDVAEModule

    ckpt = str(checkpoint(run))
    model = CDVAEModule.load_from_checkpoint(ckpt, map_location="cpu", weights_only=True).model.eval()
    records = [crystal_record(data.structure(i), data.tc.get(i, float("nan")), i) for i in data.test_ids]
    fill_tc(records, model.tc_stats[0])
    with torch.no_grad():
        _, mu, logvar = model.encode(Batch.from_data_list(records), sample=False)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
    return float(kl.mean()), int((mu.std(0) > 0.1).sum()), int(mu.shape[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a finished `atomgenbench run cdvae` folder")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="Langevin noise seeds of each variant")
    args = ap.parse_args()
    meta = json.loads((args.run / "predictions.json").read_text())
    data = load_benchmark(meta["benchmark"])
    params = dict(meta["extra"]["params"])
    base: set[str] | None = None
    print("| variant | seed | matched | shared with `as run` (seed 0) | seconds |")
    print("|---|---|---|---|---|")
    for name, (change, factor) in VARIANTS.items():
        p = {**params, **change, "step_lr": float(params["step_lr"]) * factor}
        for seed in args.seeds:
            t0 = time.perf_counter()
            found = matched(decode(args.run, data, p, seed), data.name)
            base = found if base is None else base
            seconds = time.perf_counter() - t0
            print(f"| {name} | {seed} | {len(found)} | {len(found & base)} | {seconds:.0f} |", flush=True)
    kl, active, size = latent_use(args.run, data)
    print(f"\nlatent: mean KL {kl:.4f} nats per dimension; {active} of {size} dimensions vary across test crystals")


if __name__ == "__main__":
    main()

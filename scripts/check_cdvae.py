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
the heads against trivial baselines (:func:`heads_vs_baselines`) and the latent's use: the mean KL
per latent dimension over the test crystals and the number of
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


def _niggli(run: Path) -> bool:
    """Whether the run encoded crystals in their Niggli-reduced cells (runs before the fix did not)."""
    meta = json.loads((run / "predictions.json").read_text(encoding="utf-8"))
    return bool(meta["extra"]["params"].get("niggli", False))


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
    niggli = _niggli(run)
    records = [crystal_record(data.structure(i), data.tc.get(i, float("nan")), i, niggli) for i in data.test_ids]
    fill_tc(records, model.tc_stats[0])
    with torch.no_grad():
        _, mu, logvar = model.encode(Batch.from_data_list(records), sample=False)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
    return float(kl.mean()), int((mu.std(0) > 0.1).sum()), int(mu.shape[1])


def heads_vs_baselines(run: Path, data, n_train: int = 400, draws: int = 20) -> dict:
    """The lattice head's scaled-lattice MSE against always predicting the training mean (training and
    test crystals), and the decoder's coordinate loss on the test crystals in their true cells against a
    decoder that predicts zero (the same noise levels, ``draws`` draws each)."""
    import numpy as np
    from torch_geometric.data import Batch

    from atomgenbench.runners.cdvae.data import crystal_record, fill_tc
    from atomgenbench.runners.cdvae.graph import min_image_displacement
    from atomgenbench.runners.cdvae.lattice import cart_to_frac, frac_to_cart, params_to_matrix
    from atomgenbench.runners.cdvae.lightning import CDVAEModule
    from atomgenbench.runners.cdvae.model import per_crystal_mean

    model = CDVAEModule.load_from_checkpoint(str(checkpoint(run)), map_location="cpu", weights_only=True).model.eval()

    niggli = _niggli(run)

    def batch(ids):
        records = [crystal_record(data.structure(i), data.tc.get(i, float("nan")), i, niggli) for i in ids]
        fill_tc(records, model.tc_stats[0])
        return Batch.from_data_list(records)

    def lattice_pairs(b):
        with torch.no_grad():
            _, mu, _ = model.encode(b, sample=False)
            scaled, _, _ = model.lattice_from_z(mu, b.num_atoms)
        return scaled, model.scaler.transform(b.lengths, b.angles, b.num_atoms)

    train_ids = [i for i in data.train_ids if len(data.structure(i)) <= model.config.max_atoms][:n_train]
    head_tr, true_tr = lattice_pairs(batch(train_ids))
    test = batch(data.test_ids)
    head_te, true_te = lattice_pairs(test)
    mean = true_tr.mean(0)
    out = {
        "lattice_mse_train": (float(((head_tr - true_tr) ** 2).mean()), float(((mean - true_tr) ** 2).mean())),
        "lattice_mse_test": (float(((head_te - true_te) ** 2).mean()), float(((mean - true_te) ** 2).mean())),
    }
    learned, zero = [], []
    lattice = params_to_matrix(test.lengths, test.angles)[test.batch]
    with torch.no_grad():
        for draw in range(draws):
            learned.append(
                float(model.losses(test, generator=torch.Generator().manual_seed(draw), sample_z=False)["coord"])
            )
            g = torch.Generator().manual_seed(1000 + draw)
            level = torch.randint(len(model.sigmas), (len(test.num_atoms),), generator=g)
            sigma = model.sigmas[level][test.batch][:, None]
            eps = torch.randn(test.frac_coords.shape, generator=g)
            noisy = torch.remainder(cart_to_frac(frac_to_cart(test.frac_coords, lattice) + sigma * eps, lattice), 1.0)
            target = min_image_displacement(noisy, test.frac_coords, lattice) / sigma
            zero.append(float(per_crystal_mean(0.5 * (target**2).sum(-1), test.batch, len(test.num_atoms))))
    out["coord_loss_test"] = (float(np.mean(learned)), float(np.mean(zero)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a finished `atomgenbench run cdvae` folder")
    ap.add_argument("--only-heads", action="store_true", help="skip the decodes")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="Langevin noise seeds of each variant")
    args = ap.parse_args()
    meta = json.loads((args.run / "predictions.json").read_text())
    data = load_benchmark(meta["benchmark"])
    params = dict(meta["extra"]["params"])
    base: set[str] | None = None
    print("| variant | seed | matched | shared with `as run` (seed 0) | seconds |")
    print("|---|---|---|---|---|")
    for name, (change, factor) in ({} if args.only_heads else VARIANTS).items():
        p = {**params, **change, "step_lr": float(params["step_lr"]) * factor}
        for seed in args.seeds:
            t0 = time.perf_counter()
            found = matched(decode(args.run, data, p, seed), data.name)
            base = found if base is None else base
            seconds = time.perf_counter() - t0
            print(f"| {name} | {seed} | {len(found)} | {len(found & base)} | {seconds:.0f} |", flush=True)
    kl, active, size = latent_use(args.run, data)
    print(f"\nlatent: mean KL {kl:.4f} nats per dimension; {active} of {size} dimensions vary across test crystals")
    h = heads_vs_baselines(args.run, data)
    for key, (mine, base) in h.items():
        what = "the training mean" if key.startswith("lattice") else "a decoder predicting zero"
        print(f"{key}: {mine:.3f} (against {base:.3f} for {what})")


if __name__ == "__main__":
    main()

"""FlowMMRunner: composition-conditioned crystal structure prediction by flow matching.

``fit`` Niggli-canonicalises the training crystals, fits the lattice base and the
standardisation statistics, and trains :class:`FlowMMModule` through the shared
:func:`atomgenbench.runners.training.fit_module` (seeded, resumable, early stopping, EMA).
``reconstruct`` keeps every test crystal's species and counts, integrates the flow
with Euler steps from the base and yields one record per test id; a sample that is not
a valid crystal (non-finite numbers, non-positive lengths, angles that do not close
a cell) becomes a failure record with its reason.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.benchmarks.atomgen.structures import parse_poscar, to_poscar
from atomgenbench.runners.base import Reconstruction, RunConfig, Runner, fixed_batches

#: parameters shared by all presets. Model: hidden, time_dim (default hidden // 2), layers, num_freqs,
#: use_tc (T_c conditioning, off = the paper's setting). Training: lr, weight_decay, eta_min (cosine
#: floor), cost_coord : cost_lattice (published 400 : 1), grad_clip (by value 0.5), ema_decay,
#: val_fraction (held out of the training split, runners.training.split_train_val), max_train
#: (0: all; else runners.training.truncate), snapshot_minutes (learning-curve snapshots), final_weights
#: ("best" validation or "last"; cpu: last, because the flow loss stops tracking matches), stats_passes
#: (sweeps for the standardisation statistics), train_steps (if set, max_epochs = ceil(train_steps /
#: batches per epoch)), max_atoms (larger training crystals are skipped). Sampling: steps (Euler),
#: anneal_slope / anneal_offset
#: (coordinate velocity x (1 + slope * relu(t - offset)); 2.0 = the AtomBench run), sample_batch_size.
_COMMON = dict(
    time_dim=None,
    use_tc=False,
    lr=3e-4,
    weight_decay=0.0,
    eta_min=1e-5,
    cost_coord=400.0,
    cost_lattice=1.0,
    grad_clip=0.5,
    grad_clip_algorithm="value",
    ema_decay=0.999,
    val_fraction=0.1,
    max_train=0,
    snapshot_minutes=[],
    final_weights="best",
    stats_passes=10,
    train_steps=None,
    max_steps=-1,
    check_val_every_n_epoch=1,
    log_every_n_steps=10,
    num_workers=0,
    steps=1000,
    anneal_slope=0.0,
    anneal_offset=0.0,
    sample_batch_size=256,
)

PRESETS = {
    "smoke": {
        **_COMMON,
        "hidden": 32,
        "time_dim": 16,
        "layers": 2,
        "num_freqs": 4,
        "max_atoms": 24,
        "batch_size": 64,
        "max_epochs": 1,
        "max_minutes": 1.0,
        "patience": 0,
        "stats_passes": 1,
        "steps": 10,
        "lr": 1e-3,
    },
    "cpu": {
        **_COMMON,
        "hidden": 128,
        "time_dim": 64,
        "layers": 4,
        "num_freqs": 32,
        "max_atoms": 24,
        "batch_size": 32,
        "max_epochs": 300,
        "train_steps": 40000,
        "max_minutes": 15.0,
        "patience": 0,
        "final_weights": "last",
        "check_val_every_n_epoch": 5,
        "snapshot_minutes": [0.5, 1, 2, 4, 8],
        "steps": 200,
        "lr": 1e-3,
    },
    "paper": {
        **_COMMON,
        "hidden": 512,
        "time_dim": 256,
        "layers": 6,
        "num_freqs": 128,
        "max_atoms": 24,
        "batch_size": 64,
        "max_epochs": 100,
        "max_minutes": None,
        "patience": 5,
        "steps": 1000,
    },
}


def decode_sample(species: list[str], frac: np.ndarray, lattice_vec: np.ndarray) -> tuple[str, str | None]:
    """POSCAR text of one sampled crystal, or ``("", reason)`` when it is not a valid crystal."""
    from pymatgen.core import Lattice, Structure

    from atomgenbench.runners.flowmm.geometry import ANGLE_LO, ANGLE_SPAN, cell_volume_factor

    if not (np.all(np.isfinite(frac)) and np.all(np.isfinite(lattice_vec))):
        return "", "sampler produced non-finite coordinates or lattice"
    lengths = lattice_vec[:3].astype(float)
    angles = ANGLE_LO + ANGLE_SPAN / (1.0 + np.exp(-lattice_vec[3:].astype(float)))
    if np.any(lengths <= 0.1):
        return "", f"non-positive lattice length(s) a,b,c = {np.round(lengths, 3).tolist()} Å"
    if cell_volume_factor(angles) <= 1e-6:
        return "", f"angles {np.round(angles, 2).tolist()}° do not form a cell"
    lattice = Lattice.from_parameters(*lengths, *angles)
    structure = Structure(lattice, species, np.mod(frac, 1.0))
    text = to_poscar(structure, comment="flowmm")
    try:
        parse_poscar(text)
    except ValueError as exc:
        return "", f"invalid structure: {exc}"
    return text, None


def start_points(model, queries, seed: int, sample: int = 0):
    """Base samples (frac, lattice) drawn per id from a generator seeded by (seed, id, sample).

    Each id's sample is independent of which other ids are reconstructed with it,
    so a resumed or partial reconstruction reproduces the full run exactly; sample 0
    keeps the (seed, id) stream of single-sample runs.
    """
    import torch

    from atomgenbench.runners.flowmm.flow import sample_base_frac

    fracs, lats = [], []
    for q in queries:
        tag = f"{seed}:{q.id}" if not sample else f"{seed}:{q.id}:{sample}"
        gen = torch.Generator().manual_seed(zlib.crc32(tag.encode()))
        fracs.append(sample_base_frac(q.num_atoms, gen))
        lats.append(model.base.sample(1, gen))
    return torch.cat(fracs), torch.cat(lats)


class FlowMMRunner(Runner):
    """Clean-room FlowMM (Riemannian flow matching) conditioned on the composition."""

    name = "flowmm"
    conditioning = "composition"
    presets = PRESETS
    supports_samples = True  # independent prior draws per (seed, id, sample)

    def _params(self, config: RunConfig) -> dict:
        params = self.resolve_params(config.preset, config.params)
        if params.get("time_dim") is None:
            params["time_dim"] = params["hidden"] // 2
        return params

    def _crystals(self, data: BenchmarkData, ids: list[str], params: dict):
        from atomgenbench.runners.flowmm.data import crystal_from_structure

        tc = data.tc if params["use_tc"] else {}
        out = []
        for key in ids:
            s = data.structure(key)
            if len(s) <= int(params["max_atoms"]):
                out.append(crystal_from_structure(key, s, tc.get(key, 0.0)))
        return out

    def fit(self, data: BenchmarkData, config: RunConfig) -> Path:
        import torch
        from torch.utils.data import DataLoader

        from atomgenbench.runners.flowmm.data import collate
        from atomgenbench.runners.flowmm.flow import estimate_statistics
        from atomgenbench.runners.flowmm.geometry import LatticeBase
        from atomgenbench.runners.flowmm.lightning import EMACallback, FlowMMModule
        from atomgenbench.runners.training import final_checkpoint, fit_module, split_train_val, truncate

        params = self._params(config)
        final = final_checkpoint(config)
        if final.is_file():
            return final
        if params["use_tc"]:
            missing = [i for i in data.train_ids if i not in data.tc]
            if missing:
                raise ValueError(f"use_tc: no T_c for {len(missing)} training ids, e.g. {missing[:3]}")
        split = split_train_val(data.train_ids, float(params["val_fraction"]), config.seed)
        train_ids, val_ids = truncate(*split, params.get("max_train"))
        train, val = self._crystals(data, train_ids, params), self._crystals(data, val_ids, params)
        if not train:
            raise ValueError(f"{data.name}: no training crystals with <= {params['max_atoms']} atoms")
        bs = int(params["batch_size"])
        if params.get("train_steps"):  # same optimizer-step budget on any dataset size
            batches = max(1, len(train) // bs if len(train) > bs else 1)
            params["max_epochs"] = max(1, math.ceil(int(params["train_steps"]) / batches))
        torch.manual_seed(int(config.seed))  # the initial weights: the same seed trains the same model
        module = FlowMMModule.from_params(params)
        base = LatticeBase.fit(np.stack([np.asarray(c.lattice[:3]) for c in train]))
        gen = torch.Generator().manual_seed(int(config.seed))
        stat_batches = [collate(train[i : i + 256]) for i in range(0, len(train), 256)]
        module.set_statistics(estimate_statistics(stat_batches, base, int(params["stats_passes"]), gen))
        workers = int(params["num_workers"])
        train_loader = DataLoader(
            train, batch_size=bs, shuffle=True, collate_fn=collate, num_workers=workers, drop_last=len(train) > bs
        )
        val_loader = DataLoader(
            val or train[:bs], batch_size=bs, shuffle=False, collate_fn=collate, num_workers=workers
        )
        return fit_module(
            module, train_loader, val_loader, config, params, callbacks=[EMACallback(float(params["ema_decay"]))]
        )

    def reconstruct(
        self, data: BenchmarkData, checkpoint: Path, config: RunConfig, ids: list[str] | None = None
    ) -> Iterator[Reconstruction]:
        """Integrate the flow in fixed batches of ``sample_batch_size`` test crystals (start points per id)."""
        import torch

        from atomgenbench.runners.flowmm.data import collate, composition_query
        from atomgenbench.runners.flowmm.flow import euler_sample
        from atomgenbench.runners.flowmm.lightning import FlowMMModule
        from atomgenbench.runners.training import pick_device

        params = self._params(config)
        ids = list(data.test_ids if ids is None else ids)
        wanted = set(ids)
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        module = FlowMMModule(**state["hyper_parameters"])
        module.load_state_dict(state["state_dict"])
        model = module.ema.eval()
        use_tc = bool(module.hparams.use_tc)
        device = pick_device(config)
        model.to(device)
        order = []  # the sampled ids of the whole test set: batches are cut from this fixed order
        for key in dict.fromkeys([*data.test_ids, *ids]):
            if use_tc and key not in data.tc:
                if key in wanted:
                    for sample in range(config.samples):
                        yield Reconstruction.failed(key, "T_c conditioning requested but no T_c is known", sample)
            else:
                order.append(key)
        steps, sampled = int(params["steps"]), set(order)
        for _, keys in fixed_batches([k for k in ids if k in sampled], order, int(params["sample_batch_size"])):
            part = [composition_query(k, data.structure(k), data.tc.get(k, 0.0) if use_tc else 0.0) for k in keys]
            batch = collate(part).to(device)
            for sample in range(config.samples):
                init = start_points(model, part, int(config.seed), sample)
                frac, lat = euler_sample(
                    model, batch, steps, float(params["anneal_slope"]), float(params["anneal_offset"]), init=init
                )
                frac, lat = frac.cpu().numpy(), lat.cpu().numpy()
                offset = 0
                for i, q in enumerate(part):
                    species = [int(z) + 1 for z in q.types]
                    text, reason = decode_sample(species, frac[offset : offset + q.num_atoms], lat[i])
                    offset += q.num_atoms
                    if q.id in wanted:
                        yield Reconstruction.from_pair(q.id, text, reason, sample)

    def reconstruct_metadata(self, checkpoint: Path, config: RunConfig) -> dict:
        params = self._params(config)
        return {
            "sampler": "euler",
            "steps": int(params["steps"]),
            "anneal_slope": float(params["anneal_slope"]),
            "anneal_offset": float(params["anneal_offset"]),
            "use_tc": bool(params["use_tc"]),
            "checkpoint": str(checkpoint),
        }

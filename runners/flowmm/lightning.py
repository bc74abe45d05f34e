"""Lightning module and EMA callback for FlowMM training.

The module holds the trained velocity model (``model``) and an exponential moving
average of it (``ema``); validation, the best checkpoint and sampling all use the
EMA weights. The EMA is updated by :class:`EMACallback` after every optimizer step
with decay ``min(decay, (1 + n) / (10 + n))`` (warm-up over the first steps).
"""

from __future__ import annotations

import copy
from typing import Any

import pytorch_lightning as pl
import torch

from atomgenbench.runners.flowmm.data import CrystalBatch
from atomgenbench.runners.flowmm.flow import VelocityModel, flow_loss, sample_path

MODEL_KEYS = ("hidden", "time_dim", "layers", "num_freqs", "use_tc")


class FlowMMModule(pl.LightningModule):
    """Flow-matching training of :class:`VelocityModel` (hyper-parameters: see runner presets)."""

    def __init__(
        self,
        hidden: int = 512,
        time_dim: int = 256,
        layers: int = 6,
        num_freqs: int = 128,
        use_tc: bool = False,
        lr: float = 3e-4,
        weight_decay: float = 0.0,
        eta_min: float = 1e-5,
        max_epochs: int = 100,
        cost_coord: float = 400.0,
        cost_lattice: float = 1.0,
        val_seed: int = 12345,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.model = VelocityModel(hidden, time_dim, layers, num_freqs, use_tc)
        self.ema = copy.deepcopy(self.model)
        self.ema.requires_grad_(False)
        self.register_buffer("ema_steps", torch.zeros((), dtype=torch.long))

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> FlowMMModule:
        keys = (
            "hidden",
            "time_dim",
            "layers",
            "num_freqs",
            "use_tc",
            "lr",
            "weight_decay",
            "eta_min",
            "max_epochs",
            "cost_coord",
            "cost_lattice",
        )
        return cls(**{k: params[k] for k in keys if k in params})

    def set_statistics(self, stats: dict[str, torch.Tensor]) -> None:
        """Install standardisation statistics in both the model and its EMA."""
        self.model.set_statistics(stats)
        self.ema.set_statistics(stats)

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return (
            batch.to(device)
            if isinstance(batch, CrystalBatch)
            else super().transfer_batch_to_device(batch, device, dataloader_idx)
        )

    def _losses(self, model: VelocityModel, batch: CrystalBatch, generator=None) -> dict[str, torch.Tensor]:
        path = sample_path(batch, model.base, generator)
        vf, vl = model(batch, path.frac, path.lattice, path.t)
        return flow_loss(vf, vl, path, batch, self.hparams.cost_coord, self.hparams.cost_lattice)

    def training_step(self, batch: CrystalBatch, batch_idx: int):
        losses = self._losses(self.model, batch)
        n = batch.num_crystals
        self.log("train_loss", losses["loss"], prog_bar=True, batch_size=n)
        self.log("train_loss_frac", losses["loss_frac"], batch_size=n)
        self.log("train_loss_lattice", losses["loss_lattice"], batch_size=n)
        return losses["loss"]

    def validation_step(self, batch: CrystalBatch, batch_idx: int):
        # fixed noise per validation batch: val_loss is comparable across epochs
        gen = torch.Generator().manual_seed(self.hparams.val_seed + batch_idx)
        losses = self._losses(self.ema, batch, gen)
        n = batch.num_crystals
        self.log("val_loss", losses["loss"], prog_bar=True, batch_size=n, sync_dist=True)
        self.log("val_loss_frac", losses["loss_frac"], batch_size=n, sync_dist=True)
        self.log("val_loss_lattice", losses["loss_lattice"], batch_size=n, sync_dist=True)

    def configure_optimizers(self):
        hp = self.hparams
        opt = torch.optim.AdamW(self.model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, int(hp.max_epochs)), eta_min=hp.eta_min)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}


class EMACallback(pl.Callback):
    """Update ``pl_module.ema`` towards ``pl_module.model`` after each training batch."""

    def __init__(self, decay: float = 0.999):
        self.decay = float(decay)

    @torch.no_grad()
    def on_train_batch_end(self, trainer, pl_module: FlowMMModule, outputs, batch, batch_idx):
        n = int(pl_module.ema_steps)
        decay = min(self.decay, (1.0 + n) / (10.0 + n))
        for p_ema, p in zip(pl_module.ema.parameters(), pl_module.model.parameters()):
            p_ema.lerp_(p.detach(), 1.0 - decay)
        pl_module.ema_steps += 1

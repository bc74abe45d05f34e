"""Lightning wrapper around :class:`atomgenbench.runners.cdvae.model.CDVAE`.

Logs every loss term; ``val_loss`` is CDVAE's monitored quantity
(10·coord + 1·type with the default weights), computed with noise drawn from a
fixed-seed generator so that early stopping compares like with like. Optimiser:
Adam (lr 1e-3 by default) with ReduceLROnPlateau on ``val_loss`` (factor 0.6,
min_lr 1e-4), as upstream.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from atomgenbench.runners.cdvae.lattice import LatticeScaler
from atomgenbench.runners.cdvae.model import CDVAE, CDVAEConfig


class CDVAEModule(pl.LightningModule):
    """Trains a CDVAE; all constructor arguments are saved in the checkpoint."""

    def __init__(
        self,
        model_config: dict,
        scaler: dict,
        tc_stats: tuple[float, float] = (0.0, 1.0),
        lr: float = 1e-3,
        lr_patience: int = 30,
        lr_factor: float = 0.6,
        min_lr: float = 1e-4,
        teacher_forcing_max_epoch: int = 20,
        val_every: int = 1,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.model = CDVAE(CDVAEConfig(**model_config), LatticeScaler(**scaler), tuple(tc_stats))

    def _log_terms(self, out: dict, prefix: str, batch_size: int) -> None:
        for key, value in out.items():
            name = key if key == "val_loss" and prefix == "val" else f"{prefix}_{key}"
            self.log(
                name,
                value,
                batch_size=batch_size,
                prog_bar=name in ("train_loss", "val_loss"),
                sync_dist=prefix == "val",
            )

    def training_step(self, batch, batch_idx):
        tf = self.current_epoch < self.hparams.teacher_forcing_max_epoch
        out = self.model.losses(batch, teacher_forcing=tf)
        self._log_terms({k: v for k, v in out.items() if k != "val_loss"}, "train", len(batch.num_atoms))
        return out["loss"]

    def validation_step(self, batch, batch_idx):
        gen = torch.Generator(device=batch.frac_coords.device).manual_seed(1000 + batch_idx)
        out = self.model.losses(batch, teacher_forcing=False, generator=gen, sample_z=False)
        self._log_terms(out, "val", len(batch.num_atoms))

    def configure_optimizers(self):
        hp = self.hparams
        opt = torch.optim.Adam(self.parameters(), lr=hp.lr)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, factor=hp.lr_factor, patience=hp.lr_patience, min_lr=hp.min_lr
        )
        return {
            "optimizer": opt,
            "lr_scheduler": {
                "scheduler": sched,
                "monitor": "val_loss",
                "frequency": max(1, int(hp.val_every)),
                "strict": False,
            },
        }

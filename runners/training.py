"""PyTorch Lightning plumbing shared by the AtomGPT, CDVAE and FlowMM runners.

One function, :func:`fit_module`, trains any ``LightningModule`` with the
toolkit's conventions: seeded and with torch's deterministic kernels (on CPU the backward
of ``x[index]`` otherwise adds in thread order, so the same seed would not give the same
weights), resumable from ``<work_dir>/checkpoints/last.ckpt``,
early stopping on ``val_loss``, a tqdm bar on a terminal only, CSV logs, an optional wall-time
budget, and accelerator/devices/num_nodes/strategy passed straight through so a run
scales out (DDP) without code changes.

Parameters read from the runner's params dict (all optional):
``max_epochs`` (int), ``max_steps`` (int), ``max_minutes`` (float),
``patience`` (int, early-stopping patience in validation checks; 0 disables),
``grad_clip`` (float), ``grad_clip_algorithm`` ("norm" | "value"),
``check_val_every_n_epoch`` (int), ``log_every_n_steps`` (int).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from atomgenbench.core.output import progress_enabled
from atomgenbench.runners.base import RunConfig

FINAL_CHECKPOINT = "final.ckpt"


def checkpoint_dir(config: RunConfig) -> Path:
    return config.work_dir / "checkpoints"


def final_checkpoint(config: RunConfig) -> Path:
    return checkpoint_dir(config) / FINAL_CHECKPOINT


def progress_bar_wanted(config: RunConfig) -> bool:
    """Lightning's bar (it writes to stdout) only on a terminal and when progress is on.

    In a pipe or a log file it would write carriage-return lines.
    """
    return bool(config.progress) and progress_enabled() and sys.stdout.isatty()


def make_trainer(config: RunConfig, params: dict[str, Any], callbacks: list | None = None):
    """A configured ``lightning.pytorch.Trainer`` for ``config``/``params``."""
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint, TQDMProgressBar
    from pytorch_lightning.loggers import CSVLogger

    ckpt_dir = checkpoint_dir(config)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    cbs: list = list(callbacks or [])
    cbs.append(
        ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val_loss", mode="min", save_last=True, save_top_k=1)
    )
    patience = int(params.get("patience", 0) or 0)
    if patience > 0:
        cbs.append(EarlyStopping(monitor="val_loss", mode="min", patience=patience))
    show_bar = progress_bar_wanted(config)
    if show_bar:
        cbs.append(TQDMProgressBar(refresh_rate=max(1, int(params.get("progress_refresh", 10)))))
    max_minutes = params.get("max_minutes")
    t = config.trainer
    return pl.Trainer(
        accelerator=t.accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        strategy=t.strategy,
        precision=t.precision,
        max_epochs=int(params.get("max_epochs", 1)),
        max_steps=int(params.get("max_steps", -1) or -1),
        max_time=timedelta(minutes=float(max_minutes)) if max_minutes else None,
        gradient_clip_val=params.get("grad_clip"),
        gradient_clip_algorithm=params.get("grad_clip_algorithm", "norm"),
        check_val_every_n_epoch=int(params.get("check_val_every_n_epoch", 1)),
        log_every_n_steps=int(params.get("log_every_n_steps", 10)),
        callbacks=cbs,
        logger=CSVLogger(str(config.work_dir), name="logs"),
        enable_progress_bar=show_bar,
        enable_model_summary=False,
        deterministic="warn",  # deterministic kernels where torch has them (CPU index_put_ backward)
        num_sanity_val_steps=0,
    )


def fit_module(
    module, train_loader, val_loader, config: RunConfig, params: dict[str, Any], callbacks: list | None = None
) -> Path:
    """Train ``module`` and return the path of its final checkpoint.

    If ``final.ckpt`` exists the run is complete and is not repeated; if
    ``last.ckpt`` exists training resumes from it. The best validation weights are
    loaded into ``module`` before ``final.ckpt`` is written.
    """
    import pytorch_lightning as pl
    import torch

    final = final_checkpoint(config)
    if final.is_file():
        return final
    pl.seed_everything(config.seed, workers=True, verbose=False)
    trainer = make_trainer(config, params, callbacks)
    last = checkpoint_dir(config) / "last.ckpt"
    trainer.fit(module, train_loader, val_loader, ckpt_path=str(last) if last.is_file() else None)
    best = checkpoint_dir(config) / "best.ckpt"
    if best.is_file():
        state = torch.load(best, map_location="cpu", weights_only=True)
        module.load_state_dict(state["state_dict"])
    tmp = final.with_suffix(".tmp")
    trainer.save_checkpoint(tmp)  # collective under DDP; rank 0 writes
    if trainer.is_global_zero:
        tmp.replace(final)
    return final

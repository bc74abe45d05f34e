"""The training policy and Lightning plumbing shared by the AtomGPT, CDVAE and FlowMM runners.

The policy (one definition each): :func:`split_train_val` (the validation crystals,
seeded by the run seed), :func:`truncate` (the ``max_train`` rule) and
:func:`pick_device`. One function, :func:`fit_module`, trains any ``LightningModule`` with the
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
``check_val_every_n_epoch`` (int), ``log_every_n_steps`` (int),
``final_weights`` ("best": the best validation weights, the default; "last": the weights at the
end of training), ``snapshot_minutes`` (list of training minutes at which a weights-only snapshot is saved
for learning curves, see :class:`Snapshots`).
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from atomgenbench.core.output import progress_enabled
from atomgenbench.runners.base import RunConfig

FINAL_CHECKPOINT = "final.ckpt"
SNAPSHOT_DIR = "snapshots"


def split_train_val(ids: list[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(train, validation) ids: a ``fraction`` of ``ids`` held out, chosen by the run ``seed``.

    The choice depends only on the set of ids, the fraction and the seed (the ids are
    sorted before the seeded shuffle), never on their order; both lists keep the order
    of ``ids``. The validation set gets at least one id when there are two or more.
    """
    if fraction <= 0 or len(ids) < 2:
        return list(ids), []
    order = sorted(ids)
    random.Random(int(seed)).shuffle(order)
    n_val = min(max(1, int(round(fraction * len(order)))), len(order) - 1)
    held = set(order[:n_val])
    return [i for i in ids if i not in held], [i for i in ids if i in held]


def truncate(train: list, val: list, max_train: int | None) -> tuple[list, list]:
    """The ``max_train`` rule (0 or None: everything): the first ``max_train`` training
    items and the first ``max(1, max_train // 8)`` validation items."""
    if not max_train:
        return train, val
    n = int(max_train)
    return train[:n], val[: max(1, n // 8)]


def pick_device(config: RunConfig):
    """The torch device of a runner's own (non-Lightning) work: CUDA when the run asks for
    a GPU (``gpu``, ``cuda`` or ``auto``) and one is available, else the CPU."""
    import torch

    wants_gpu = config.trainer.accelerator in ("gpu", "cuda", "auto")
    return torch.device("cuda" if wants_gpu and torch.cuda.is_available() else "cpu")


def snapshot_dir(config: RunConfig) -> Path:
    return checkpoint_dir(config) / SNAPSHOT_DIR


def snapshots(config: RunConfig) -> list[Path]:
    """The learning-curve snapshots of a run, in training order."""
    return sorted(snapshot_dir(config).glob("minute-*.ckpt"), key=lambda p: float(p.stem.split("-", 1)[1]))


def snapshot_callback(folder: Path, minutes: list[float]):
    """A Lightning callback that saves ``folder/minute-<m>.ckpt`` (the format of
    ``final.ckpt``, weights only) at the end of the first epoch after each of ``minutes``
    of training time, with ``minute-<m>.json`` beside it (training seconds, epoch, step).

    Training time is Lightning's ``Timer`` when the run has a wall-time budget (it
    survives a resume), else this process's clock. Saving draws no random numbers, so a
    run with snapshots trains the same weights as one without.
    """
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import Timer

    marks = sorted(float(m) for m in minutes)

    class Snapshots(pl.Callback):
        def __init__(self):
            self.start = time.monotonic()

        def on_train_start(self, trainer, pl_module):
            self.start = time.monotonic()

        def on_train_epoch_end(self, trainer, pl_module):
            timers = [cb for cb in trainer.callbacks if isinstance(cb, Timer)]
            seconds = timers[0].time_elapsed("train") if timers else time.monotonic() - self.start
            for mark in marks:
                path = folder / f"minute-{mark:g}.ckpt"
                if seconds / 60.0 >= mark and not path.exists():
                    folder.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(".tmp")
                    trainer.save_checkpoint(tmp, weights_only=True)
                    if trainer.is_global_zero:
                        when = {"minutes": mark, "train_seconds": round(seconds, 1), "epoch": trainer.current_epoch}
                        when["step"] = trainer.global_step
                        path.with_suffix(".json").write_text(json.dumps(when) + "\n", encoding="utf-8")
                        tmp.replace(path)

    return Snapshots()


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
    cbs.append(ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val_loss", mode="min", save_top_k=1))
    # last.ckpt at every epoch end, for resuming: Lightning's save_last only writes it when a
    # best checkpoint is written, so a run whose validation stopped improving resumed from there
    last = ModelCheckpoint(dirpath=ckpt_dir, filename="last", monitor=None, save_top_k=1, enable_version_counter=False)
    cbs.append(last)
    patience = int(params.get("patience", 0) or 0)
    if patience > 0:
        cbs.append(EarlyStopping(monitor="val_loss", mode="min", patience=patience))
    if params.get("snapshot_minutes"):
        cbs.append(snapshot_callback(snapshot_dir(config), list(params["snapshot_minutes"])))
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
    if params.get("final_weights", "best") == "best" and best.is_file():
        state = torch.load(best, map_location="cpu", weights_only=True)
        module.load_state_dict(state["state_dict"])
    tmp = final.with_suffix(".tmp")
    trainer.save_checkpoint(tmp)  # collective under DDP; rank 0 writes
    if trainer.is_global_zero:
        tmp.replace(final)
    return final

"""Lightning wrapper around a Hugging Face causal LM, and the text data loaders.

Each example is ``prompt + output + EOS`` tokenised, truncated at
``max_seq_length``; labels equal the input ids with padding set to -100 and, when
``loss_on_prompt`` is false, the prompt tokens too (AtomGPT itself trains on the
whole sequence). Batches are right padded for training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

IGNORE = -100


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]


def tokenize_example(tokenizer, prompt: str, output: str, max_seq_length: int, loss_on_prompt: bool) -> Example:
    """Token ids and labels of one training text."""
    p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    o = tokenizer(output, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    ids = (p + o)[:max_seq_length]
    labels = (list(p) if loss_on_prompt else [IGNORE] * len(p)) + list(o)
    return Example(ids, labels[:max_seq_length])


class TextDataset(Dataset):
    def __init__(self, examples: Sequence[Example]):
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> Example:
        return self.examples[i]


class Collate:
    """Right-pad a list of :class:`Example` into tensors (picklable for DDP spawn / workers)."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, batch: Sequence[Example]) -> dict[str, torch.Tensor]:
        n = max(len(e.input_ids) for e in batch)
        ids = torch.full((len(batch), n), self.pad_id, dtype=torch.long)
        labels = torch.full((len(batch), n), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(batch), n), dtype=torch.long)
        for i, e in enumerate(batch):
            k = len(e.input_ids)
            ids[i, :k] = torch.tensor(e.input_ids)
            labels[i, :k] = torch.tensor(e.labels)
            mask[i, :k] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def make_loader(examples: Sequence[Example], pad_id: int, batch_size: int, shuffle: bool, seed: int) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        TextDataset(examples),
        batch_size=batch_size,
        shuffle=shuffle,
        collate_fn=Collate(pad_id),
        generator=generator if shuffle else None,
        num_workers=0,
    )


class CausalLMModule(pl.LightningModule):
    """Trains ``model`` with next-token cross-entropy; logs ``train_loss`` and ``val_loss``.

    AdamW with linear warm-up then linear decay to zero (AtomGPT's schedule). With
    ``trainable_only`` (LoRA) checkpoints hold only the trainable weights.
    """

    def __init__(
        self, model, lr: float = 2e-4, weight_decay: float = 0.0, warmup_steps: int = 3, trainable_only: bool = False
    ):
        super().__init__()
        self.model = model
        self.lr, self.weight_decay, self.warmup_steps = lr, weight_decay, warmup_steps
        self.trainable_only = trainable_only
        self.strict_loading = not trainable_only

    def forward(self, **batch):
        return self.model(**batch)

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
        ).loss

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=batch["input_ids"].shape[0])
        return loss

    def validation_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("val_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True, batch_size=batch["input_ids"].shape[0])
        return loss

    def configure_optimizers(self):
        params = [p for p in self.model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        total = max(1, int(self.trainer.estimated_stepping_batches)) if self.trainer else 1
        if not math.isfinite(total):
            total = 10**6
        warm = max(0, min(self.warmup_steps, total - 1))

        def factor(step: int) -> float:
            if step < warm:
                return (step + 1) / (warm + 1)
            return max(0.0, (total - step) / max(1, total - warm))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.trainable_only:
            keep = {f"model.{n}" for n, p in self.model.named_parameters() if p.requires_grad}
            checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in keep}

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        return super().load_state_dict(state_dict, strict=strict and not self.trainable_only, assign=assign)

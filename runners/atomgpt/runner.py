"""AtomGPT runner: fine-tune a causal LM on crystal text, then write the test crystals.

What the model sees for a test id (the ``composition+tc`` conditioning):

* the prompt — AtomGPT's Alpaca template whose input is
  ``The chemical formula is {reduced formula} . The  Tc_supercon is {T_c}.{output prompt}``
  (reduced formula from the reference cell's composition, T_c from the benchmark's
  conditioning table; the property name stays ``Tc_supercon`` for Alexandria too,
  as in the original runs — change it with ``prop``);
* the grammar — with ``constrained`` decoding the atom lines are forced to the
  reference cell's species and counts (in its species order), because the reduced
  formula alone does not say how many atoms the cell holds. The lattice line is
  written *before* the atoms, so the model predicts a, b, c, α, β, γ knowing only the
  reduced formula and T_c. Set ``formula=cell`` to put the full cell formula in
  the prompt instead (an atomgenbench option, not AtomGPT's schema).

Training uses only training ids; a seeded ``val_fraction`` of them is held out for
validation loss and early stopping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.benchmarks.atomgen.structures import to_poscar
from atomgenbench.runners.atomgpt import schema
from atomgenbench.runners.base import Reconstruction, RunConfig, Runner, batch_seed, fixed_batches, sample_seed

META_NAME = "atomgpt_meta.json"

_COMMON: dict[str, Any] = {
    "base_model": "scratch-llama",
    "scratch": {"hidden": 128, "layers": 4, "heads": 4, "intermediate": 384},
    "lora": None,
    "load_in_4bit": False,
    "prop": schema.DEFAULT_PROP,
    "instruction": schema.INSTRUCTION,
    "output_prompt": schema.OUTPUT_PROMPT,
    "formula": "reduced",
    "loss_on_prompt": True,
    "max_seq_length": 1024,
    "max_train": 0,
    "snapshot_minutes": [],
    "val_fraction": 0.05,
    "batch_size": 16,
    "lr": 2e-4,
    "weight_decay": 0.0,
    "warmup_steps": 3,
    "max_epochs": 2,
    "max_steps": -1,
    "max_minutes": None,
    "patience": 0,
    "final_weights": "best",  # or "last": the weights at the end of the schedule
    "augment_axes": False,  # also train on each training crystal with its axes cyclically relabelled
    "grad_clip": 1.0,
    "log_every_n_steps": 10,
    "constrained": True,
    "do_sample": False,
    "temperature": 1.0,
    "top_k": 0,
    # samples 1 … K−1 of `run --samples K` (sample 0 decodes as above): temperature and nucleus sampling
    "sample_temperature": 0.8,
    "sample_top_p": 0.95,
    "gen_batch_size": 16,
    "max_new_tokens": 1024,
}

PRESETS: dict[str, dict[str, Any]] = {
    # seconds: a few hundred thousand parameters, two optimiser steps
    "smoke": {
        **_COMMON,
        "scratch": {"hidden": 64, "layers": 1, "heads": 2, "intermediate": 128},
        "max_train": 16,
        "batch_size": 8,
        "max_epochs": 1,
        "lr": 1e-3,
        "gen_batch_size": 105,
        "log_every_n_steps": 1,
    },
    # a real run on 2 CPU cores: up to 28 min of training (issue 28 allows 30), early stopping on
    # val loss; with 14 min the alex model saw three epochs and its match count had not yet risen
    "cpu": {
        **_COMMON,
        "scratch": {"hidden": 128, "layers": 4, "heads": 4, "intermediate": 384},
        "loss_on_prompt": False,
        "batch_size": 16,
        "lr": 2e-3,
        "warmup_steps": 50,
        "weight_decay": 0.01,
        "max_epochs": 60,
        "max_minutes": 28.0,
        "patience": 6,
        "snapshot_minutes": [2, 4, 8, 14, 20],
        "gen_batch_size": 64,
    },
    # the paper's intent (§3.6/§6): 4-bit Mistral-7B + LoRA, lr 2e-4, 2 epochs, max_seq 2048; needs a GPU
    "paper": {
        **_COMMON,
        "base_model": "unsloth/mistral-7b-bnb-4bit",
        "load_in_4bit": True,
        "lora": {"r": 16, "alpha": 16, "dropout": 0.0, "bias": "none"},
        "max_seq_length": 2048,
        "batch_size": 16,
        "lr": 2e-4,
        "max_epochs": 2,
        "warmup_steps": 3,
        "val_fraction": 0.05,
        "gen_batch_size": 16,
    },
}


def _rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


class AtomGPTRunner(Runner):
    name = "atomgpt"
    conditioning = "composition+tc"
    presets = PRESETS
    supports_samples = True  # samples > 0: temperature + nucleus sampling (sample_temperature, sample_top_p)

    # ----------------------------------------------------------------- text
    @staticmethod
    def prompt(params: dict[str, Any], counts: dict[str, int], tc: float | None) -> str:
        formula = schema.reduced_formula(counts)
        if params["formula"] == "cell":
            formula = "".join(f"{el}{n if n > 1 else ''}" for el, n in counts.items())
        text = schema.make_input(formula, tc, params["prop"], params["output_prompt"])
        return schema.make_prompt(text, params["instruction"])

    def training_texts(self, data: BenchmarkData, params: dict[str, Any]) -> dict[str, tuple[str, str]]:
        """``{id: (prompt, output)}`` for every training id."""
        out = {}
        for key in data.train_ids:
            s = data.structure(key)
            counts = schema.cell_counts([site.specie.symbol for site in s])
            out[key] = (self.prompt(params, counts, data.tc.get(key)), schema.encode_structure(s))
        return out

    def augmented_texts(
        self, data: BenchmarkData, params: dict[str, Any], ids: list[str]
    ) -> dict[str, tuple[str, str]]:
        """``{id#b, id#c: (prompt, output)}``: each crystal of ``ids`` written with its axes relabelled
        (b, c, a) and (c, a, b), the same crystal to the matcher (a cyclic relabelling keeps the handedness)."""
        from pymatgen.core import Lattice, Structure

        out = {}
        for key in ids:
            s = data.structure(key)
            counts = schema.cell_counts([site.specie.symbol for site in s])
            prompt = self.prompt(params, counts, data.tc.get(key))
            for shift, tag in ((1, "b"), (2, "c")):
                order = [(i + shift) % 3 for i in range(3)]
                lattice = Lattice(s.lattice.matrix[order])
                moved = Structure(lattice, s.species, s.frac_coords[:, order])
                out[f"{key}#{tag}"] = (prompt, schema.encode_structure(moved))
        return out

    # ------------------------------------------------------------------ fit
    def fit(self, data: BenchmarkData, config: RunConfig) -> Path:
        import torch

        from atomgenbench.runners.atomgpt.lightning import CausalLMModule, make_loader, tokenize_example
        from atomgenbench.runners.atomgpt.model import build_model, is_scratch, save_model
        from atomgenbench.runners.atomgpt.tokenizer import load_tokenizer, train_tokenizer
        from atomgenbench.runners.training import fit_module, split_train_val, truncate

        params = {**self.presets[config.preset], **config.params}
        work = config.work_dir
        export = work / "model"
        if (export / META_NAME).is_file():
            return export
        texts = self.training_texts(data, params)
        split = split_train_val(list(texts), float(params["val_fraction"]), config.seed)
        train_ids, val_ids = truncate(*split, params["max_train"])
        scratch = is_scratch(params["base_model"])
        tok_dir = work / "tokenizer"
        if not scratch:
            tokenizer = load_tokenizer(params["base_model"])
        elif (tok_dir / "tokenizer.json").is_file():
            tokenizer = load_tokenizer(tok_dir)
        else:
            tokenizer = train_tokenizer(p + o for p, o in texts.values())
            if _rank() == 0:
                tokenizer.save_pretrained(str(tok_dir))
        msl = int(params["max_seq_length"])
        lop = bool(params["loss_on_prompt"])
        if params["augment_axes"]:
            more = self.augmented_texts(data, params, train_ids)
            texts.update(more)
            train_ids = train_ids + list(more)
        examples = {k: tokenize_example(tokenizer, *texts[k], msl, lop) for k in train_ids + val_ids}
        longest = max(len(e.input_ids) for e in examples.values())
        torch.manual_seed(config.seed)
        model = build_model(params, tokenizer, max_positions=msl)
        module = CausalLMModule(
            model,
            lr=float(params["lr"]),
            weight_decay=float(params["weight_decay"]),
            warmup_steps=int(params["warmup_steps"]),
            trainable_only=bool(params["lora"]),
        )
        bs = int(params["batch_size"])
        train_loader = make_loader([examples[k] for k in train_ids], tokenizer.pad_token_id, bs, True, config.seed)
        val_loader = make_loader([examples[k] for k in val_ids], tokenizer.pad_token_id, bs, False, config.seed)
        final = fit_module(module, train_loader, val_loader, config, params)
        if _rank() != 0:
            return export
        state = torch.load(final, map_location="cpu", weights_only=True)
        module.load_state_dict(state["state_dict"])
        tmp = work / "model.tmp"
        save_model(module.model, tokenizer, tmp, merge_lora=scratch)
        lengths = [x for p, o in texts.values() for x in schema.parse_output(o).lengths]
        meta = {
            "base_model": params["base_model"],
            "lora": params["lora"],
            "train_ids": len(train_ids),
            "val_ids": len(val_ids),
            "longest_tokens": longest,
            "lightning_checkpoint": str(final),
            "n_parameters": sum(p.numel() for p in module.model.parameters()),
            "length_range": [max(0.5, round(0.8 * min(lengths), 2)), round(1.25 * max(lengths), 2)],
            "angle_range": [15, 165],
        }
        (tmp / META_NAME).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if export.exists():
            import shutil

            shutil.rmtree(export)
        tmp.replace(export)
        return export

    def snapshot_checkpoint(self, snapshot: Path, config: RunConfig) -> Path:
        """A learning-curve snapshot exported beside it as a model folder like ``work/model``."""
        import torch

        from atomgenbench.runners.atomgpt.lightning import CausalLMModule
        from atomgenbench.runners.atomgpt.model import build_model, is_scratch, save_model
        from atomgenbench.runners.atomgpt.tokenizer import load_tokenizer

        dest = snapshot.with_suffix("")
        if (dest / META_NAME).is_file():
            return dest
        params = self._params(config)
        export = config.work_dir / "model"
        tokenizer = load_tokenizer(export)
        model = build_model(params, tokenizer, max_positions=int(params["max_seq_length"]))
        module = CausalLMModule(model, trainable_only=bool(params["lora"]))
        state = torch.load(snapshot, map_location="cpu", weights_only=True)["state_dict"]
        module.load_state_dict(state, strict=module.strict_loading)
        tmp = dest.with_suffix(".tmp")
        save_model(module.model, tokenizer, tmp, merge_lora=is_scratch(params["base_model"]))
        meta = {**json.loads((export / META_NAME).read_text(encoding="utf-8")), "lightning_checkpoint": str(snapshot)}
        (tmp / META_NAME).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        tmp.replace(dest)
        return dest

    # ---------------------------------------------------------- reconstruct
    def _params(self, config: RunConfig) -> dict[str, Any]:
        return {**self.presets[config.preset], **config.params}

    @staticmethod
    def _options(params: dict[str, Any]):
        from atomgenbench.runners.atomgpt.decoding import DecodeOptions

        return DecodeOptions(
            do_sample=bool(params["do_sample"]),
            temperature=float(params["temperature"]),
            top_k=int(params["top_k"]),
            batch_size=int(params["gen_batch_size"]),
            constrained=bool(params["constrained"]),
            max_new_tokens=int(params["max_new_tokens"]),
        )

    def reconstruct(
        self, data: BenchmarkData, checkpoint: Path, config: RunConfig, ids: list[str] | None = None
    ) -> Iterator[Reconstruction]:
        """Generate in fixed batches of ``gen_batch_size`` test ids (sampling seeded per batch)."""
        import torch

        from atomgenbench.benchmarks.atomgen.conditioning import conditioning_for
        from atomgenbench.runners.atomgpt.decoding import OutputGrammar, generate_outputs
        from atomgenbench.runners.atomgpt.model import load_saved_model
        from atomgenbench.runners.atomgpt.tokenizer import load_tokenizer, token_strings
        from atomgenbench.runners.training import pick_device

        params = self._params(config)
        checkpoint = Path(checkpoint)
        meta = json.loads((checkpoint / META_NAME).read_text(encoding="utf-8"))
        tokenizer = load_tokenizer(checkpoint)
        model = load_saved_model(checkpoint, params)
        device = pick_device(config)
        if device.type == "cuda" and not getattr(model, "is_loaded_in_4bit", False):
            model = model.to(device)
        ids = list(data.test_ids if ids is None else ids)
        wanted = set(ids)
        cond = conditioning_for(data.name)
        options = self._options(params)
        token_texts = token_strings(tokenizer)
        lengths, angles = tuple(meta["length_range"]), tuple(meta["angle_range"])
        sampled = replace(
            options,
            do_sample=True,
            temperature=float(params["sample_temperature"]),
            top_p=float(params["sample_top_p"]),
        )
        for index, batch in fixed_batches(ids, data.test_ids, options.batch_size):
            prompts = [self.prompt(params, cond[k].composition, cond[k].tc) for k in batch]
            species = [[el for el, n in cond[k].composition.items() for _ in range(n)] for k in batch]
            grammars = [OutputGrammar(sp, lengths, angles) for sp in species]
            for sample in range(config.samples):
                if sample:  # seeded per (seed, fixed batch, sample): a resumed run draws the same text
                    torch.manual_seed(sample_seed(config.seed, f"batch{index}", sample))
                elif options.do_sample:
                    torch.manual_seed(batch_seed(config.seed, index))
                how = sampled if sample else options
                texts = generate_outputs(model, tokenizer, prompts, grammars, how, token_texts=token_texts)
                for key, text in zip(batch, texts):
                    if key in wanted:
                        yield Reconstruction.from_pair(key, *self.to_poscar(text), sample)

    def reconstruct_metadata(self, checkpoint: Path, config: RunConfig) -> dict[str, Any]:
        params = self._params(config)
        meta = json.loads((Path(checkpoint) / META_NAME).read_text(encoding="utf-8"))
        options = self._options(params)
        return {
            "checkpoint": str(checkpoint),
            "base_model": meta["base_model"],
            "n_parameters": meta["n_parameters"],
            "sampler": {**options.__dict__, "length_range": meta["length_range"], "angle_range": meta["angle_range"]},
            "model_sees": f"prompt: reduced formula + T_c (prop '{params['prop']}'); grammar: cell species and counts"
            if options.constrained
            else "prompt: reduced formula + T_c only (unconstrained)",
        }

    @staticmethod
    def to_poscar(text: str) -> tuple[str, str | None]:
        """(POSCAR, None) for a parseable output text, else ("", reason)."""
        parsed = schema.parse_output(text)
        if not parsed.ok:
            return "", f"unparseable output: {parsed.reason}"
        try:
            return to_poscar(parsed.structure()), None
        except Exception as exc:  # pymatgen/jarvis reject a degenerate cell
            return "", f"invalid structure: {type(exc).__name__}: {exc}"

"""Model construction: a tiny Llama/Mistral from scratch, or any local Hugging Face causal LM (+ LoRA).

``base_model`` selects the path:

* ``"scratch-llama"`` / ``"scratch-mistral"`` — a small decoder configured from the
  ``scratch`` parameters (``hidden``, ``layers``, ``heads``, ``intermediate``) with
  the corpus-trained tokenizer (:mod:`atomgenbench.runners.atomgpt.tokenizer`); fp32, CPU friendly.
* anything else — a model name or local directory given to
  ``AutoModelForCausalLM.from_pretrained(..., local_files_only=True)``; nothing is
  downloaded (works with ``HF_HUB_OFFLINE=1``; a name must already be in the local
  Hugging Face cache). With ``load_in_4bit`` and both CUDA and bitsandbytes
  available, the base is quantised to 4 bit (as the paper's ``mistral-7b-bnb-4bit``);
  otherwise it is loaded in fp32. With ``lora`` the base is frozen and a peft LoRA
  adapter is trained (r 16, alpha 16, dropout 0, bias none, the 7 projection
  modules — AtomGPT's appendix settings).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
SCRATCH_KINDS = ("scratch-llama", "scratch-mistral")


def is_scratch(base_model: str) -> bool:
    return base_model in SCRATCH_KINDS


def scratch_model(base_model: str, tokenizer, scratch: dict[str, Any], max_positions: int):
    """A randomly initialised Llama or Mistral causal LM sized by ``scratch``."""
    from transformers import LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM

    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=int(scratch["hidden"]),
        intermediate_size=int(scratch["intermediate"]),
        num_hidden_layers=int(scratch["layers"]),
        num_attention_heads=int(scratch["heads"]),
        num_key_value_heads=int(scratch.get("kv_heads", scratch["heads"])),
        max_position_embeddings=int(max_positions),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    if base_model == "scratch-mistral":
        return MistralForCausalLM(MistralConfig(sliding_window=None, **common))
    return LlamaForCausalLM(LlamaConfig(**common))


def can_load_4bit() -> bool:
    """True when 4-bit loading is possible here (CUDA and bitsandbytes)."""
    import torch

    return torch.cuda.is_available() and importlib.util.find_spec("bitsandbytes") is not None


def pretrained_model(name_or_path: str, load_in_4bit: bool = False):
    """A local Hugging Face causal LM (4-bit only when :func:`can_load_4bit`)."""
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"local_files_only": True}
    if load_in_4bit and can_load_4bit():
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
        )
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    else:
        kwargs["dtype"] = torch.float32
    try:
        return AutoModelForCausalLM.from_pretrained(str(name_or_path), **kwargs)
    except OSError as exc:
        raise ValueError(
            f"AtomGPT base model {name_or_path!r} is not available locally ({exc}); nothing is downloaded — "
            "pass a local directory with --set base_model=PATH, or use base_model=scratch-llama"
        ) from None


def add_lora(model, lora: dict[str, Any], quantized: bool = False):
    """Wrap ``model`` with a trainable peft LoRA adapter (base weights frozen)."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if quantized:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [t for t in lora.get("targets", LORA_TARGETS) if t in present]
    if not targets:
        raise ValueError(f"none of the LoRA target modules {list(LORA_TARGETS)} exist in this model")
    config = LoraConfig(
        r=int(lora.get("r", 16)),
        lora_alpha=int(lora.get("alpha", 16)),
        lora_dropout=float(lora.get("dropout", 0.0)),
        bias=lora.get("bias", "none"),
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def build_model(params: dict[str, Any], tokenizer, max_positions: int):
    """The trainable model for a runner's params (see the module docstring)."""
    base = params["base_model"]
    if is_scratch(base):
        model = scratch_model(base, tokenizer, params["scratch"], max_positions)
        quantized = False
    else:
        model = pretrained_model(base, bool(params.get("load_in_4bit")))
        quantized = bool(getattr(model, "is_loaded_in_4bit", False))
    if params.get("lora"):
        model = add_lora(model, params["lora"], quantized=quantized)
    return model


def save_model(model, tokenizer, out_dir: Path, merge_lora: bool = False) -> Path:
    """``save_pretrained`` the model (or its LoRA adapter) and the tokenizer into ``out_dir``.

    ``merge_lora`` folds a LoRA adapter into its base first (used for from-scratch
    bases, which exist nowhere else).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if merge_lora and hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    return out_dir


def load_saved_model(path: Path, params: dict[str, Any]):
    """Load what :func:`save_model` wrote (a full model, or base + LoRA adapter)."""
    import torch

    path = Path(path)
    if (path / "adapter_config.json").is_file():
        from peft import PeftModel

        base_model = pretrained_model(params["base_model"], bool(params.get("load_in_4bit")))
        return PeftModel.from_pretrained(base_model, str(path), local_files_only=True)
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, dtype=torch.float32)

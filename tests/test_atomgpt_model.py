"""AtomGPT models, constrained decoding, LoRA path, training runs (smoke) and DDP."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.benchmarks.atomgen.structures import parse_poscar
from atomgenbench.runners.atomgpt import schema
from atomgenbench.runners.atomgpt.decoding import DecodeOptions, OutputGrammar, generate_outputs
from atomgenbench.runners.atomgpt.lightning import CausalLMModule, make_loader, tokenize_example
from atomgenbench.runners.atomgpt.model import LORA_TARGETS, build_model, load_saved_model, save_model
from atomgenbench.runners.atomgpt.runner import AtomGPTRunner
from atomgenbench.runners.atomgpt.tokenizer import train_tokenizer
from atomgenbench.runners.base import RunConfig

BENCH = "dft_3d_Tc_supercon"


@pytest.fixture(scope="module")
def data():
    return load_benchmark(BENCH)


@pytest.fixture(scope="module")
def corpus(data):
    runner = AtomGPTRunner()
    params = runner.resolve_params("smoke")
    return runner, params, runner.training_texts(data, params)


@pytest.fixture(scope="module")
def tokenizer(corpus):
    _, _, texts = corpus
    return train_tokenizer(p + o for p, o in texts.values())


def tiny_params(runner, **overrides):
    return runner.resolve_params("smoke", overrides)


@pytest.mark.slow
@pytest.mark.parametrize("sample", [False, True])
def test_constrained_generation_always_parses_with_requested_species(corpus, tokenizer, sample):
    """Even an untrained model writes parseable crystals with exactly the requested atoms."""
    runner, params, _ = corpus
    torch.manual_seed(0)
    model = build_model(params, tokenizer, max_positions=1024)
    comps = [{"Na": 1, "Cl": 1}, {"Mg": 2, "B": 4}, {"Cu": 2, "Ti": 2}, {"Xe": 1}]
    species = [[el for el, n in c.items() for _ in range(n)] for c in comps]
    prompts = [runner.prompt(params, c, 1.5) for c in comps]
    grammars = [OutputGrammar(s, (2.0, 12.0), (30, 150)) for s in species]
    texts = generate_outputs(
        model, tokenizer, prompts, grammars, DecodeOptions(do_sample=sample, top_k=5, temperature=1.5, batch_size=3)
    )
    assert len(texts) == len(comps)
    for text, sp in zip(texts, species):
        parsed = schema.parse_output(text)
        assert parsed.ok, (text, parsed.reason)
        assert parsed.species == sp
        assert all(2.0 <= x <= 12.0 for x in parsed.lengths) and all(30 <= x <= 150 for x in parsed.angles)
        assert all(0 <= x < 1 for xyz in parsed.frac_coords for x in xyz)
        parse_poscar(AtomGPTRunner.to_poscar(text)[0])  # a valid leaderboard POSCAR


def test_scratch_mistral_builds(corpus, tokenizer):
    runner, _, _ = corpus
    model = build_model(tiny_params(runner, base_model="scratch-mistral"), tokenizer, max_positions=512)
    assert type(model).__name__ == "MistralForCausalLM"
    assert 1e4 < sum(p.numel() for p in model.parameters()) < 1e6


def test_lora_on_a_tiny_local_model(tmp_path, corpus, tokenizer):
    """The pretrained+LoRA path on a local Llama: only adapters train, save/load round-trips."""
    from transformers import LlamaConfig, LlamaForCausalLM

    runner, _, texts = corpus
    base_dir = tmp_path / "tiny-llama"
    cfg = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    LlamaForCausalLM(cfg).save_pretrained(base_dir)
    tokenizer.save_pretrained(base_dir)
    params = tiny_params(
        runner,
        base_model=str(base_dir),
        load_in_4bit=True,  # 4-bit silently off on CPU
        lora={"r": 16, "alpha": 16, "dropout": 0.0, "bias": "none"},
    )
    model = build_model(params, tokenizer, max_positions=1024)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert {t for t in LORA_TARGETS if any(f".{t}." in n for n in trainable)} == set(LORA_TARGETS)
    assert model.peft_config["default"].r == 16 and model.peft_config["default"].lora_alpha == 16

    module = CausalLMModule(model, lr=1e-2, trainable_only=True)
    examples = [tokenize_example(tokenizer, *t, 1024, True) for t in list(texts.values())[:4]]
    batch = next(iter(make_loader(examples, tokenizer.pad_token_id, 4, False, 0)))
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    module._loss(batch).backward()
    opt.step()
    assert all(torch.equal(frozen[n], p) for n, p in model.named_parameters() if n in frozen)
    assert any(not torch.equal(before[n], p) for n, p in model.named_parameters() if n in before)

    ckpt = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(ckpt)
    assert ckpt["state_dict"] and all("lora_" in k for k in ckpt["state_dict"])

    out = save_model(model, tokenizer, tmp_path / "export")
    assert (out / "adapter_config.json").is_file() and not (out / "model.safetensors").exists()
    loaded = load_saved_model(out, params)
    model.eval()
    with torch.no_grad():
        a = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        b = loaded(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert torch.allclose(a, b, atol=1e-5)


def test_missing_pretrained_model_is_a_clear_error(corpus, tokenizer, tmp_path):
    runner, _, _ = corpus
    with pytest.raises(ValueError, match="not available locally"):
        build_model(tiny_params(runner, base_model=str(tmp_path / "nope")), tokenizer, 512)


@pytest.mark.slow
def test_smoke_fit_resume_and_reconstruct_all_test_ids(tmp_path, data):
    runner = AtomGPTRunner()
    config = RunConfig(
        "atomgpt", BENCH, "smoke", params=runner.resolve_params("smoke"), out_dir=tmp_path, progress=False
    )
    ckpt = runner.fit(data, config)
    assert (ckpt / "atomgpt_meta.json").is_file()
    assert (config.work_dir / "checkpoints" / "final.ckpt").is_file()
    assert runner.fit(data, config) == ckpt  # finished: not repeated
    records = list(runner.reconstruct(data, ckpt, config))  # one Reconstruction per test id, in order
    assert [r.id for r in records] == data.test_ids and {r.sample for r in records} == {0}
    ok = [r for r in records if r.structure is not None]
    assert len(ok) >= 104, [r.failure for r in records if r.failure]
    for rec in ok[:10]:
        s = parse_poscar(rec.structure)
        assert s.composition == data.structure(rec.id).composition
    tail = data.test_ids[-3:]  # a resumed run asks for the missing ids only: the same batch, the same text
    again = {r.id: r.structure for r in runner.reconstruct(data, ckpt, config, ids=tail)}
    assert list(again) == tail and all(again[k] == records[-3 + i].structure for i, k in enumerate(tail))
    assert (
        runner.conditioning == "composition+tc" and runner.reconstruct_metadata(ckpt, config)["sampler"]["constrained"]
    )


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    """strategy=ddp with devices=2 on CPU trains the smoke model (run as a script, as Lightning requires)."""
    script = tmp_path / "ddp_fit.py"
    script.write_text(
        textwrap.dedent(f"""
        import json, os
        from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
        from atomgenbench.runners.atomgpt.runner import AtomGPTRunner
        from atomgenbench.runners.base import RunConfig, TrainerOptions
        if __name__ == "__main__":
            r = AtomGPTRunner()
            cfg = RunConfig("atomgpt", "{BENCH}", "smoke", params=r.resolve_params("smoke"),
                            out_dir={str(tmp_path / "out")!r}, progress=False,
                            trainer=TrainerOptions(accelerator="cpu", devices=2, strategy="ddp"))
            ckpt = r.fit(load_benchmark("{BENCH}"), cfg)
            import torch.distributed as dist
            print("WORLD", dist.get_world_size() if dist.is_initialized() else 1, "RANK",
                  dist.get_rank() if dist.is_initialized() else 0, "CKPT", ckpt)
    """)
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "WORLD 2 RANK 0" in proc.stdout and "WORLD 2 RANK 1" in proc.stdout
    assert (tmp_path / "out" / "work" / "model" / "atomgpt_meta.json").is_file()
    log = (tmp_path / "out" / "work" / "logs" / "version_0" / "metrics.csv").read_text()
    assert "val_loss" in log.splitlines()[0]


def test_unknown_parameter_is_rejected():
    with pytest.raises(ValueError, match="unknown parameter"):
        AtomGPTRunner().resolve_params("cpu", {"nonsense": 1})


def test_unconstrained_generation_failures_are_reported_not_raised(corpus, tokenizer):
    runner, params, _ = corpus
    torch.manual_seed(0)
    model = build_model(params, tokenizer, max_positions=1024)
    prompts = [runner.prompt(params, {"Na": 1, "Cl": 1}, 2.0)] * 2
    texts = generate_outputs(
        model, tokenizer, prompts, [None, None], DecodeOptions(constrained=False, max_new_tokens=12, batch_size=2)
    )
    assert len(texts) == 2
    poscar, reason = AtomGPTRunner.to_poscar(texts[0])
    assert poscar == "" and reason.startswith("unparseable output")


def test_axis_augmentation_writes_the_same_crystals_with_relabelled_axes(data):
    """``augment_axes``: two extra texts per training crystal, each parsing back to a structure that the
    leaderboard matcher matches to the crystal, with the lattice lengths in a rotated order."""
    from pymatgen.analysis.structure_matcher import StructureMatcher

    runner = AtomGPTRunner()
    params = runner.resolve_params("smoke")
    assert params["augment_axes"] is False  # off in every preset: nothing committed moves
    ids = data.train_ids[:6]
    texts = runner.augmented_texts(data, params, ids)
    assert sorted(texts) == sorted(f"{i}#{tag}" for i in ids for tag in "bc")
    matcher = StructureMatcher(ltol=0.3, stol=0.5, angle_tol=10)
    prompts = {k: p for k, (p, _) in runner.training_texts(data, params).items()}
    for key in ids:
        original = schema.parse_output(schema.encode_structure(data.structure(key)))
        for tag, shift in (("b", 1), ("c", 2)):
            prompt, output = texts[f"{key}#{tag}"]
            parsed = schema.parse_output(output)
            assert prompt == prompts[key]
            assert parsed.lengths == original.lengths[shift:] + original.lengths[:shift]
            assert matcher.fit(parsed.structure(), data.structure(key))

"""AtomGPT text schema, parser, tokenizer and output grammar (fast, no training)."""

from __future__ import annotations

import pytest

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.runners.atomgpt import schema
from atomgenbench.runners.atomgpt.decoding import OutputGrammar


@pytest.fixture(scope="module")
def dft3d():
    return load_benchmark("dft_3d_Tc_supercon")


def test_input_and_prompt_keep_atomgpt_spacing():
    text = schema.make_input("MgB2", 39)
    assert text == (
        "The chemical formula is MgB2 . The  Tc_supercon is 39.0.Generate a correct corresponding "
        "bulk crystal POSCAR with lattice lengths, angles, coordinates and atom types."
    )
    prompt = schema.make_prompt(text)
    assert prompt == (
        "### Instruction:\nBelow is a superconducting transition temperature.\n### Input:\n" + text + "\n### Output:\n"
    )


def test_reduced_formula_is_jarvis_convention():
    assert schema.reduced_formula({"Cl": 4, "Na": 4}) == "NaCl"
    assert schema.reduced_formula({"Mg": 2, "B": 4}) == "MgB2"


def test_output_format_lengths_2dp_angles_truncated_coords_3dp():
    text = schema.format_output([4.0, 4.256, 5.0], [90.0, 89.99, 119.6], ["Na", "Cl"], [[0, 0, 0], [0.5, 0.25, 0.1236]])
    assert text == "4.00 4.26 5.00\n90 89 119\nNa 0.000 0.000 0.000\nCl 0.500 0.250 0.124"


def test_round_trip_every_training_crystal(dft3d):
    """encode -> parse -> encode is the identity on all dft_3d training crystals."""
    for key, structure in dft3d.train.items():
        text = schema.encode_structure(structure)
        parsed = schema.parse_output(text)
        assert parsed.ok, (key, parsed.reason)
        assert parsed.text() == text, key
        assert parsed.species == [site.specie.symbol for site in structure]
        rebuilt = parsed.structure()
        assert rebuilt.lattice.abc == pytest.approx(parsed.lengths, abs=1e-6), key
        assert rebuilt.lattice.angles == pytest.approx(parsed.angles, abs=1e-6), key


def test_parser_tolerates_blank_lines_eos_and_prompt():
    body = "4.00 4.00 4.00\n90 90 90\n\nNa 0.000 0.000 0.000\nCl 0.500 0.500 0.500"
    full = schema.make_prompt(schema.make_input("NaCl", 1.0)) + "\n" + body.replace("\n\n", "\n \n") + "</s>\n"
    for text in (body, body + "\n\n", body + "</s>", full):
        parsed = schema.parse_output(text)
        assert parsed.ok, (text, parsed.reason)
        assert parsed.species == ["Na", "Cl"] and parsed.lengths == [4.0, 4.0, 4.0]


@pytest.mark.parametrize(
    "text, why",
    [
        ("", "expected lattice lengths"),
        ("4.00 4.00\n90 90 90\nNa 0 0 0", "expected 3 lengths"),
        ("4.00 -1.00 4.00\n90 90 90\nNa 0 0 0", "non-positive"),
        ("4.00 nan 4.00\n90 90 90\nNa 0 0 0", "non-finite"),
        ("4.00 4.00 4.00\n90 90 190\nNa 0 0 0", "angle outside"),
        ("4.00 4.00 4.00\n10 10 170\nNa 0 0 0", "positive volume"),
        ("4.00 4.00 4.00\n90 90 90", "no atom lines"),
        ("4.00 4.00 4.00\n90 90 90\nXx 0 0 0", "unknown element"),
        ("4.00 4.00 4.00\n90 90 90\nNa 0 0", "expected 'El x y z'"),
        ("4.00 4.00 4.00\n90 90 90\nNa 0 a 0", "not numbers"),
        ("a b c\n90 90 90\nNa 0 0 0", "not numbers"),
    ],
)
def test_parser_reports_reason_instead_of_raising(text, why):
    parsed = schema.parse_output(text)
    assert not parsed.ok and why in parsed.reason
    with pytest.raises(ValueError):
        parsed.structure()


def test_tokenizer_splits_digits_and_round_trips(dft3d):
    from atomgenbench.runners.atomgpt.tokenizer import train_tokenizer

    texts = [schema.encode_structure(s) for s in list(dft3d.train.values())[:50]]
    tok = train_tokenizer(texts)
    sample = "Nb3Sn 12.75\n90 90 90\nXe 0.125 0.500 0.000"  # Xe never occurs in the corpus
    pieces = tok.tokenize(sample)
    assert "Nb" in pieces and "Xe" in pieces and "<unk>" not in pieces
    assert all(len(p) == 1 for p in pieces if any(c.isdigit() for c in p))
    assert tok.decode(tok(sample, add_special_tokens=False)["input_ids"]) == sample


def test_grammar_accepts_exactly_the_requested_composition():
    g = OutputGrammar(["Na", "Cl"], (1.0, 30.0), (15, 165))
    good = "4.00 4.00 4.00\n90 90 90\nNa 0.000 0.000 0.000\nCl 0.500 0.500 0.500"
    state = g.feed(g.start(), good)
    assert g.is_final(state)
    assert not g.is_final(g.feed(g.start(), good[:-1]))
    for bad in (
        "4.0 4.00",
        "40.00 ",
        "0.50 ",
        "4.00 4.00 4.00\n90 90 9.",
        "4.00 4.00 4.00\n10 10 170",  # third angle cannot close a cell
        "4.00 4.00 4.00\n90 90 90\nCl",
        "4.00 4.00 4.00\n90 90 90\nNa 1.000",
        good + "\n",
        good + "0",
    ):
        assert g.feed(g.start(), bad) is None, bad


def test_grammar_third_angle_always_forms_a_cell():
    g = OutputGrammar(["Si"], (1.0, 30.0), (15, 165))
    state = g.feed(g.start(), "3.00 3.00 3.00\n30 40 ")
    ok = [v for v in range(15, 166) if g.is_final(g.feed(state, f"{v}\nSi 0.000 0.000 0.000"))]
    assert ok and all(schema._cell_volume([3, 3, 3], [30, 40, v]) > 0 for v in ok)
    assert min(ok) == 15 and 60 < max(ok) < 70  # |α-β| < γ < α+β


def test_grammar_second_angle_never_leads_to_a_dead_end():
    """Every accepted (α, β) leaves at least one γ that closes the cell; (15, 15) is refused."""
    g = OutputGrammar(["Si"], (1.0, 30.0), (15, 165))
    head = g.feed(g.start(), "3.00 3.00 3.00\n")
    for alpha in (15, 16, 60, 90, 120, 165):
        after_alpha = g.feed(head, f"{alpha} ")
        accepted = [b for b in range(15, 166) if g.feed(after_alpha, f"{b} ") is not None]
        assert accepted, alpha
        for beta in accepted:
            state = g.feed(after_alpha, f"{beta} ")
            assert any(g.is_final(g.feed(state, f"{c}\nSi 0.000 0.000 0.000")) for c in range(15, 166)), (alpha, beta)
    assert g.feed(g.feed(head, "15 "), "15 ") is None
    assert g.feed(g.feed(head, "15 "), "158 ") is None

"""AtomGPT's text schema: the Alpaca prompt and the crystal-as-text output.

Everything here follows ``model_reference.md`` §3.2–3.4 exactly:

* input: ``The chemical formula is {formula} . The  {prop} is {Tc}.{output_prompt}``
  (a space before the first period, two spaces after the second "The", no space
  before the output prompt); ``formula`` is jarvis-tools' reduced formula and
  ``Tc`` is ``str(float(Tc))``;
* prompt: ``### Instruction:\\n{instruction}\\n### Input:\\n{input}\\n### Output:\\n``
  followed by the output text (and the end-of-sequence token when training);
* output: line 1 ``a b c`` (``{:.2f}``), line 2 ``α β γ`` (jarvis angles rounded
  to 4 dp, then ``str(int(x))``, i.e. truncated), then one ``El x y z`` line per
  atom in the cell's atom order (``{:.3f}`` fractional coordinates), lines joined
  by ``\\n`` with no trailing newline.

:func:`parse_output` is the tolerant inverse: it never raises and returns a
:class:`ParsedCrystal` whose ``reason`` says why a text failed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

INSTRUCTION = "Below is a superconducting transition temperature."
OUTPUT_PROMPT = (
    "Generate a correct corresponding bulk crystal POSCAR with lattice lengths, angles, coordinates and atom types."
)
DEFAULT_PROP = "Tc_supercon"
OUTPUT_MARKER = "### Output:\n"
TEMPLATE = "### Instruction:\n{instruction}\n### Input:\n{input}\n" + OUTPUT_MARKER + "{output}"


def reduced_formula(counts: dict[str, int]) -> str:
    """jarvis-tools reduced formula of an element -> count mapping (AtomGPT's ``{formula}``)."""
    from jarvis.core.composition import Composition

    return Composition(dict(counts)).reduced_formula


def cell_counts(species: Sequence[str]) -> dict[str, int]:
    """Element -> count in order of first appearance."""
    counts: dict[str, int] = {}
    for el in species:
        counts[el] = counts.get(el, 0) + 1
    return counts


def format_tc(tc: float | None) -> str:
    """``str(float(x))`` as AtomGPT writes the ``id_prop`` value (``nan`` when unknown)."""
    return str(float("nan") if tc is None else float(tc))


def make_input(formula: str, tc: float | None, prop: str = DEFAULT_PROP, output_prompt: str = OUTPUT_PROMPT) -> str:
    """The Alpaca ``input`` field, spacing quirks included."""
    return f"The chemical formula is {formula} . The  {prop} is {format_tc(tc)}.{output_prompt}"


def make_prompt(input_text: str, instruction: str = INSTRUCTION) -> str:
    """The inference prompt: the Alpaca template with an empty output."""
    return TEMPLATE.format(instruction=instruction, input=input_text, output="")


def format_output(
    lengths: Sequence[float], angles: Sequence[float], species: Sequence[str], frac_coords: Sequence[Sequence[float]]
) -> str:
    """The output text for explicit lattice parameters, species and fractional coordinates."""
    lines = [" ".join(f"{x:.2f}" for x in lengths), " ".join(str(int(x)) for x in angles)]
    for el, xyz in zip(species, frac_coords):
        lines.append(el + " " + " ".join(f"{x:.3f}" for x in xyz))
    return "\n".join(lines)


def lattice_parameters(matrix) -> tuple[list[float], list[float]]:
    """(a, b, c) and (α, β, γ) of a lattice matrix as jarvis-tools reports them (angles to 4 dp)."""
    from jarvis.core.lattice import Lattice

    lat = Lattice(np.asarray(matrix, dtype=float))
    return [float(x) for x in lat.abc], [round(float(x), 4) for x in lat.angles]


def encode_structure(structure) -> str:
    """AtomGPT output text of a pymatgen structure (atom order as in the structure)."""
    lengths, angles = lattice_parameters(structure.lattice.matrix)
    species = [site.specie.symbol for site in structure]
    return format_output(lengths, angles, species, np.asarray(structure.frac_coords, dtype=float).tolist())


@dataclass
class ParsedCrystal:
    """Result of parsing one generated output; ``reason`` is ``None`` on success."""

    lengths: list[float] = field(default_factory=list)
    angles: list[float] = field(default_factory=list)
    species: list[str] = field(default_factory=list)
    frac_coords: list[list[float]] = field(default_factory=list)
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def text(self) -> str:
        """Re-encode the parsed fields (the inverse of :func:`parse_output`)."""
        return format_output(self.lengths, self.angles, self.species, self.frac_coords)

    def structure(self):
        """A pymatgen ``Structure`` (lattice from parameters, pymatgen convention)."""
        from pymatgen.core import Lattice, Structure

        if not self.ok:
            raise ValueError(f"cannot build a structure from a failed parse: {self.reason}")
        return Structure(Lattice.from_parameters(*self.lengths, *self.angles), self.species, self.frac_coords)


def extract_output(generated: str) -> str:
    """The text after the last ``### Output:`` marker (the whole text if there is none)."""
    marker = OUTPUT_MARKER.strip()
    idx = generated.rfind(marker)
    return generated[idx + len(marker) :] if idx >= 0 else generated


def _floats(tokens: Sequence[str], what: str) -> list[float]:
    try:
        values = [float(t) for t in tokens]
    except ValueError:
        raise ValueError(f"{what}: not numbers: {' '.join(tokens)!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{what}: non-finite value in {' '.join(tokens)!r}")
    return values


def _cell_volume(lengths: Sequence[float], angles: Sequence[float]) -> float:
    ca, cb, cg = (math.cos(math.radians(x)) for x in angles)
    disc = 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg
    return lengths[0] * lengths[1] * lengths[2] * math.sqrt(disc) if disc > 0 else 0.0


def parse_output(text: str, eos: str = "</s>") -> ParsedCrystal:
    """Parse an output text (or a whole generation with prompt); never raises.

    Tolerates blank lines, surrounding whitespace, a present or missing ``eos``;
    checks 3 finite positive lengths, 3 angles in (0, 180) forming a cell of
    positive volume, at least one atom, known element symbols and finite
    coordinates.
    """
    from pymatgen.core.periodic_table import Element

    body = extract_output(text)
    if eos and eos in body:
        body = body[: body.index(eos)]
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    try:
        if len(lines) < 2:
            raise ValueError(f"expected lattice lengths and angles lines, got {len(lines)} non-empty line(s)")
        lengths = _floats(lines[0].split(), "line 1 (lengths)")
        angles = _floats(lines[1].split(), "line 2 (angles)")
        if len(lengths) != 3 or len(angles) != 3:
            raise ValueError(f"expected 3 lengths and 3 angles, got {len(lengths)} and {len(angles)}")
        if min(lengths) <= 0:
            raise ValueError(f"non-positive lattice length in {lengths}")
        if not all(0 < x < 180 for x in angles):
            raise ValueError(f"angle outside (0, 180) in {angles}")
        if _cell_volume(lengths, angles) <= 1e-6:
            raise ValueError(f"angles {angles} do not form a cell of positive volume")
        species, coords = [], []
        for n, line in enumerate(lines[2:], start=3):
            parts = line.split()
            if len(parts) != 4:
                raise ValueError(f"line {n}: expected 'El x y z', got {line!r}")
            if not Element.is_valid_symbol(parts[0]):
                raise ValueError(f"line {n}: unknown element {parts[0]!r}")
            species.append(parts[0])
            coords.append(_floats(parts[1:], f"line {n} (coordinates)"))
        if not species:
            raise ValueError("no atom lines")
    except ValueError as exc:
        return ParsedCrystal(reason=str(exc))
    return ParsedCrystal(lengths, angles, species, coords)

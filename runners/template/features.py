"""Features of a (query composition, candidate template) pair for the template scorer.

Element properties come from pymatgen's own element data (no hand-typed tables). A pair is
described by:

* the query's and the template's composition descriptors (count-weighted mean, min, max of each
  property) and their difference;
* per slot (the query's elements ordered by count, then Mendeleev number; up to :data:`SLOTS`),
  the properties of the query element, and their differences from the paired template element;
* the template's crystal: space group, crystal system, how many training crystals share its
  prototype key (atom count, stoichiometry pattern, space group), its volume per atom against the
  element-volume estimate, and how many training crystals share its composition;
* whether the template's prototype key is that of a training crystal of the query's own formula: the
  benchmarks hold each crystal once, so a crystal whose formula is already in training is another
  polymorph, and a template of that polymorph's prototype mostly rebuilds the polymorph instead;
* whether the substituted template *matches* such a training crystal (:mod:`.polymorphs`), the exact
  form of the same test;
* the template's own leave-one-out labels (how many of *its* candidates matched it, the query left out):
  a template whose structure many similar compositions adopt is a safer choice;
* ``nearest``'s view: assignment cost, rank, cost above the best candidate, same pattern or not.

Nothing of a query but its composition enters, so a test crystal's structure cannot leak in.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from pymatgen.core import Element

from atomgenbench.runners.template.candidates import Candidate

CRYSTAL_SYSTEMS = ("triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal", "cubic")
PROPERTIES = (
    "Z",
    "mendeleev_no",
    "X",
    "atomic_radius",
    "average_ionic_radius",
    "row",
    "group",
    "molar_volume",
    "melting_point",
    "valence_electrons",
)
SLOTS = 4
MISSING = -999.0


def _value(el: Element, name: str) -> float:
    try:
        if name == "valence_electrons":
            return float(sum(n for (_, _, n) in _outer(el)))
        value = getattr(el, name)
        value = float(value) if value is not None else np.nan
    except Exception:  # pymatgen lacks the value for this element (a warning or an error)
        return np.nan
    return value if np.isfinite(value) else np.nan


def _outer(el: Element) -> list[tuple]:
    """Electrons outside the noble-gas core: (n, l, count) of the highest shell and open d/f shells."""
    shells = el.full_electronic_structure
    top = max(n for n, _, _ in shells)
    return [(n, orb, c) for n, orb, c in shells if n == top or (orb in "df" and c < (10 if orb == "d" else 14))]


@cache
def element_vector(symbol: str) -> np.ndarray:
    """The :data:`PROPERTIES` of one element (NaN where pymatgen has no value)."""
    import warnings

    el = Element(symbol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.array([_value(el, p) for p in PROPERTIES], dtype=float)


def composition_stats(counts: dict[str, int]) -> np.ndarray:
    """Count-weighted mean, min and max of every property over a composition."""
    table = np.array([element_vector(el) for el in counts])
    w = np.array([counts[el] for el in counts], dtype=float)
    with np.errstate(invalid="ignore"):
        mean = np.nansum(table * w[:, None], axis=0) / np.maximum(np.sum(w[:, None] * ~np.isnan(table), axis=0), 1)
    return np.concatenate([mean, np.nanmin(table, axis=0), np.nanmax(table, axis=0)])


def feature_names() -> list[str]:
    stats = [f"{s}_{p}" for s in ("mean", "min", "max") for p in PROPERTIES]
    names = [f"q_{s}" for s in stats] + [f"t_{s}" for s in stats] + [f"d_{s}" for s in stats]
    for i in range(SLOTS):
        names += [f"slot{i}_count", f"slot{i}_dcount"]
        names += [f"slot{i}_q_{p}" for p in PROPERTIES] + [f"slot{i}_d_{p}" for p in PROPERTIES]
    names += ["n_atoms", "n_elements", "spacegroup", "crystal_system", "prototype_count", "composition_count"]
    names += ["template_positives", "template_positive_rate", "polymorph_prototype", "rebuilds_polymorph"]
    names += ["volume_ratio", "scale_ratio", "cost", "rank", "cost_above_best", "same_pattern", "identical"]
    return names


def slot_features(test: dict[str, int], cand: Candidate) -> np.ndarray:
    """Per query element (ordered by count, then Mendeleev number): its count, properties and differences."""
    inverse = {q: p for p, q in cand.mapping.items()}
    proto = dict(cand.comp)
    order = sorted(test, key=lambda el: (test[el], element_vector(el)[1]))[:SLOTS]
    width = 2 + 2 * len(PROPERTIES)
    out = np.full(SLOTS * width, np.nan)
    for i, el in enumerate(order):
        q = element_vector(el)
        p_el = inverse.get(el)
        p = element_vector(p_el) if p_el else np.full(len(PROPERTIES), np.nan)
        dcount = test[el] - proto.get(p_el, 0) if p_el else np.nan
        out[i * width : (i + 1) * width] = np.concatenate([[test[el], dcount], q, q - p])
    return out


def pair_features(test: dict[str, int], cands: list[Candidate], templates, volumes) -> np.ndarray:
    """One row per candidate of one query.

    ``templates``: per training id, its crystal's descriptors (with ``prototype_key``), and
    ``templates.polymorph_keys(test)``, the prototype keys of the training crystals of ``test``'s formula,
    and ``templates.rebuilds_polymorph(test, cands)``, whether each candidate rebuilds one of them.
    """
    q_stats = composition_stats(test)
    polymorphs = templates.polymorph_keys(test)
    rebuilds = templates.rebuilds_polymorph(test, cands)
    n = sum(test.values())
    best = min((c.cost for c in cands), default=0.0)
    rows = []
    for c, rebuilt in zip(cands, rebuilds):
        t_stats = composition_stats(dict(c.comp))
        info = templates[c.template_id]
        system = CRYSTAL_SYSTEMS.index(info["system"]) if info["system"] in CRYSTAL_SYSTEMS else np.nan
        est = volumes(dict(c.comp))
        tail = [
            n,
            len(test),
            info["spacegroup"] if info["spacegroup"] is not None else np.nan,
            system,
            info["prototype_count"],
            info["composition_count"],
            info["template_positives"],
            info["template_positive_rate"],
            float(info["prototype_key"] in polymorphs),
            float(rebuilt),
            info["volume"] / est,
            volumes(test) / est,
            c.cost,
            c.rank,
            c.cost - best,
            float(c.same_pattern),
            float(tuple(sorted(test.items())) == c.comp),
        ]
        rows.append(np.concatenate([q_stats, t_stats, q_stats - t_stats, slot_features(test, c), tail]))
    # a fixed sentinel for a missing value: scikit-learn cannot bin a column that is NaN throughout
    return np.nan_to_num(np.array(rows, dtype=float).reshape(len(rows), -1), nan=MISSING)

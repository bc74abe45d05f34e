"""A vectorised, exact ``StructureMatcher.get_rms_dist`` for this toolkit's matcher settings.

Settings: species comparator, ``primitive_cell=True``, ``scale=True``, ``attempt_supercell=False``,
``allow_subset=False``, no ignored species; ``ltol``, ``stol`` and ``angle_tol`` are parameters.

The steps are pymatgen's (``pymatgen.core.structure_matcher``), in its order:

1. reduction: pymatgen's own ``_get_reduced_structure`` (Niggli, then primitive cell); where the
   site counts per species have no common divisor above 1 its primitive-cell step returns its
   input unchanged, so only pymatgen's Niggli step runs;
2. equal site counts and species counts, else no match; volumes scaled to each other;
3. lattice mappings of the prediction's lattice onto the target's (``Lattice.find_all_mappings``,
   ``|det| = 1``): lattice points from pymatgen's ``get_points_in_sphere``, the length, angle and
   determinant filters on all (a, b, c) triples at once (:mod:`.fastmatch_lattice`);
4. every (lattice, translation) candidate tested at once against the fractional site tolerance;
5. for the candidates that pass: LLL bases of the average lattices (batched), shortest periodic
   vectors over 27 images, the assignment (``scipy.optimize.linear_sum_assignment``, skipped where
   each row's clear minimum already forms the only optimal permutation), the mean translation
   removed, RMS normalised by ``(V / N)^(1/3)``; the first candidate under 1e-5, else the
   smallest, if under ``stol``, as pymatgen picks.

Exact by construction: every comparison of a computed number with a threshold (lattice length
ratio, angle, fractional site test, LLL rounding and Lovasz test, the LLL box of the shortest
vectors, the 1e-5 early exit, the final ``< stol``, ties between candidates) is checked against a
relative guard band (``fastmatch_lattice.GUARD`` = 1e-8, ``TIE_GUARD`` = 1e-11). Inside the band
the fast path either shows that the outcome is the same both ways (a candidate on the edge of the
site test that is not the pick; a pair on the LLL box edge that does not change the assignment,
or a candidate over ``stol`` either way; an LLL tie, whose basis pymatgen then computes) or hands
the pair to pymatgen's own steps, which give ``get_rms_dist``'s result. So do disordered sites and
candidate counts over the bounds. :class:`MatchCounters` counts pairs and hand-overs by reason.
"""

from __future__ import annotations

import inspect
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from pymatgen.analysis.structure_matcher import SiteOrderedIStructure, StructureMatcher
from pymatgen.core import Lattice, Structure
from scipy.optimize import linear_sum_assignment

from . import fastmatch_lattice as fl
from .fastmatch_lattice import HandOver, near

__all__ = ["FastMatcher", "HandOver", "MatchCounters", "ReducedTarget"]

#: relative band within which two candidates count as tied (their RMS; then their max distance)
TIE_GUARD = 1e-11
#: a pair whose site-tolerance test needs more float comparisons than this goes to pymatgen
MAX_WORK = 200_000_000
#: floats per vectorised chunk (bounds memory)
CHUNK = 3_000_000
_BLOCKED = 1e20  # pymatgen's value for a forbidden (site, site) pair
_IMAGES = np.array([[i, j, k] for i in (-1.0, 0.0, 1.0) for j in (-1.0, 0.0, 1.0) for k in (-1.0, 0.0, 1.0)])

Cell = tuple  # (3 × 3 lattice matrix, species symbols, n × 3 fractional coordinates)


@dataclass
class MatchCounters:
    """Pairs matched and pairs handed to pymatgen (by reason)."""

    pairs: int = 0
    handed_over: int = 0
    reasons: Counter = field(default_factory=Counter)
    lll_fallbacks: int = 0  # lattices whose LLL basis pymatgen computed (a rounding tie)

    @property
    def fraction_handed_over(self) -> float:
        return self.handed_over / self.pairs if self.pairs else 0.0

    def as_dict(self) -> dict:
        return {
            "pairs": self.pairs,
            "handed_over": self.handed_over,
            "fraction_handed_over": self.fraction_handed_over,
            "reasons": dict(self.reasons),
            "lll_fallbacks": self.lll_fallbacks,
        }

    def reset(self) -> None:
        self.pairs = self.handed_over = self.lll_fallbacks = 0
        self.reasons.clear()


@dataclass(frozen=True)
class ReducedTarget:
    """A target reduced for the matcher, with the arrays the fast path reads.

    ``original``: the target as parsed (optional). ``get_rms_dist`` reduces the prediction first,
    and pymatgen's cache of reduced structures then hands that same reduction to a target that is
    the same cache key (equal hash, which rounds coordinates to 1e-3, and lattice and sites equal
    within pymatgen's tolerances): such a pair is scored as the prediction against itself (an RMS
    of about 1e-16). With ``original`` the fast path does the same; without it such a pair gets the
    RMS of the two reductions (at most pymatgen's site tolerance, normalised), which is what
    ``atomgenbench.evaluator.scoring.rms.rms_dist`` gives when the target was reduced in another process.
    """

    structure: Structure
    matrix: np.ndarray
    frac: np.ndarray
    species: tuple[str, ...]
    ordered: bool
    original: Structure | None = None

    @classmethod
    def of(cls, reduced: Structure | Cell, original: Structure | None = None) -> ReducedTarget:
        """From the reduced structure (:meth:`FastMatcher.reduce`) or its ``rms.as_cell`` tuple."""
        if not isinstance(reduced, Structure):
            lattice, species, frac = reduced
            reduced = Structure(lattice, list(species), frac, coords_are_cartesian=False)
        return cls(
            reduced,
            np.array(reduced.lattice.matrix, dtype=float),
            np.array(reduced.frac_coords, dtype=float),
            tuple(site.species_string for site in reduced),
            reduced.is_ordered,
            original,
        )


def _known_pymatgen() -> bool:
    """Whether the installed matcher has the steps this module reproduces (the LLL box of
    ``_cart_dists``, ``_preprocess(skip_structure_reduction=...)``, the cache key with coordinates)."""
    try:
        cart = inspect.signature(StructureMatcher._cart_dists).parameters
        pre = inspect.signature(StructureMatcher._preprocess).parameters
    except (AttributeError, TypeError, ValueError):
        return False
    return "lll_frac_tol" in cart and "skip_structure_reduction" in pre and "__hash__" in vars(SiteOrderedIStructure)


def _equal_inputs(pred: Structure, target: Structure) -> bool:
    """Whether pymatgen's reduction cache treats ``pred`` and ``target`` as one structure."""
    if len(pred) != len(target) or not np.allclose(pred.lattice.matrix, target.lattice.matrix):
        return False
    if [s.species_string for s in pred] != [s.species_string for s in target]:
        return False
    a, b = SiteOrderedIStructure.from_sites(pred), SiteOrderedIStructure.from_sites(target)
    return hash(a) == hash(b) and a == b  # the cache's key test (its hash rounds coordinates)


class FastMatcher:
    """``StructureMatcher(ltol, stol, angle_tol).get_rms_dist``, vectorised, same decisions and values."""

    def __init__(self, ltol: float = 0.3, stol: float = 0.5, angle_tol: float = 10.0) -> None:
        self.ltol, self.stol, self.angle_tol = float(ltol), float(stol), float(angle_tol)
        self.pymatgen = StructureMatcher(
            ltol=ltol, stol=stol, angle_tol=angle_tol, primitive_cell=True, scale=True, attempt_supercell=False
        )
        self.counters = MatchCounters()
        self.follows_pymatgen = _known_pymatgen()

    # -- public API ---------------------------------------------------------------------------
    def reduce(self, structure: Structure) -> Structure:
        """The cell ``get_rms_dist`` compares for ``structure`` (species copy, Niggli, primitive).

        pymatgen's own steps; where the site counts per species have no common divisor above 1,
        ``get_primitive_structure`` returns its input unchanged (no supercell size divides the
        counts), so only the Niggli step is run.
        """
        (copied,) = self.pymatgen._process_species([structure])
        if copied.is_ordered and math.gcd(*Counter(site.species_string for site in copied).values()) == 1:
            return copied.get_reduced_structure()
        return self.pymatgen._get_reduced_structure(copied, True, True)

    def prepare(self, target: Structure) -> ReducedTarget:
        """The target reduced once, for any number of :meth:`rms_dist` calls."""
        return ReducedTarget.of(self.reduce(target), original=target)

    def get_rms_dist(self, pred: Structure, target: Structure) -> tuple[float, float] | None:
        """Drop-in for ``StructureMatcher.get_rms_dist(pred, target)`` (reduces both)."""
        return self.rms_dist(pred, self.prepare(target))

    def rms_dist(self, pred: Structure, target: ReducedTarget | Structure | Cell) -> tuple[float, float] | None:
        """``get_rms_dist(pred, target)`` given the target already reduced (:meth:`reduce`).

        ``target``: a :class:`ReducedTarget` (fastest: :meth:`prepare` once per target), the reduced
        ``Structure``, or its ``rms.as_cell`` tuple. ``pred``: the prediction as parsed (unreduced).
        Returns ``(rms, max_dist)`` or ``None`` (no match), as pymatgen does.
        """
        if not isinstance(target, ReducedTarget):
            target = ReducedTarget.of(target)
        s1 = self.reduce(pred)
        if target.original is not None and _equal_inputs(pred, target.original):
            target = ReducedTarget.of(s1.copy())  # get_rms_dist's cache hands the target pred's reduction
        self.counters.pairs += 1
        try:
            if not self.follows_pymatgen:
                raise HandOver("pymatgen without the steps this fast path follows")
            return self._fast(s1, target)
        except HandOver as exc:
            self.counters.handed_over += 1
            self.counters.reasons[exc.reason] += 1
            return self._pymatgen(s1, target)

    def pymatgen_rms_dist(self, reduced_pred: Structure, target: ReducedTarget) -> tuple[float, float] | None:
        """pymatgen's own steps on an already reduced pair (the hand-over path)."""
        return self._pymatgen(reduced_pred, target)

    # -- the hand-over -----------------------------------------------------------------------
    def _pymatgen(self, s1: Structure, target: ReducedTarget) -> tuple[float, float] | None:
        m = self.pymatgen
        a, b, fu, s1_supercell = m._preprocess(s1, target.structure, skip_structure_reduction=True)
        match = m._match(a, b, fu, s1_supercell, use_rms=True, break_on_match=False)
        return None if match is None else (match[0], max(match[1]))

    # -- the fast path -----------------------------------------------------------------------
    def _fast(self, s1: Structure, target: ReducedTarget) -> tuple[float, float] | None:
        if not (s1.is_ordered and target.ordered):
            raise HandOver("disordered sites")
        n = len(s1)
        if n != len(target.species):
            return None  # pymatgen: the species mask is not square
        sp1 = [site.species_string for site in s1]
        if Counter(sp1) != Counter(target.species):
            return None  # pymatgen: no zero-cost assignment on the species mask
        m1_raw = np.array(s1.lattice.matrix, dtype=float)
        ratio = (fl.volume(target.matrix) / fl.volume(m1_raw)) ** (1 / 6)
        m1, m2 = m1_raw * ratio, target.matrix / ratio
        mask = np.array(target.species)[:, None] != np.array(sp1)[None, :]  # [s2 site, s1 site]
        s2_t_ind = int(np.argmax(mask.sum(axis=-1)))
        s1_t_inds = np.where(~mask[s2_t_ind])[0]
        aligned, scale = fl.mappings(Lattice(m1), fl.lengths(m2), fl.angles(m2), self.ltol, self.angle_tol)
        aligned = aligned[np.abs(fl.int_det(scale)) == 1]  # _get_lattices: |det| = supercell size 1
        if len(aligned) == 0:
            return None
        cart1 = np.dot(np.array(s1.frac_coords, dtype=float), m1)
        return self._search(aligned, m2, cart1, target.frac, mask, s1_t_inds, s2_t_ind)

    def _search(self, aligned, m2, cart1, s2fc, mask, s1_t_inds, s2_t_ind) -> tuple[float, float] | None:
        """Test every (lattice, translation) candidate and pick pymatgen's result."""
        n, n_l, n_t = len(cart1), len(aligned), len(s1_t_inds)
        if n_l * n_t * n * n * 3 > MAX_WORK or n_t * n * n * 3 > CHUNK:
            raise HandOver("too many candidates")
        s1fc = np.einsum("ij,ljk->lik", cart1, np.linalg.inv(aligned))
        s1fc -= np.floor(s1fc)
        avg = fl.average_lattices(aligned, m2)
        norm = (n / np.abs(np.linalg.det(avg))) ** (1 / 3)
        inv_abc = np.linalg.norm(np.linalg.inv(avg) * 2 * np.pi, axis=1)  # reciprocal lengths: columns of inv
        frac_tol = inv_abc * self.stol / (np.pi * norm[:, None])
        passing = []
        step = max(1, CHUNK // max(1, n_t * n * n * 3))
        for lo in range(0, n_l, step):
            hi = min(n_l, lo + step)
            t = s1fc[lo:hi, s1_t_inds] - s2fc[s2_t_ind]  # (L, T, 3)
            t_s2fc = s2fc[None, None] + t[:, :, None, :]  # (L, T, n, 3)
            d = t_s2fc[:, :, :, None, :] - s1fc[lo:hi, None, None, :, :]
            excess = np.max(np.abs(d - np.round(d)) / frac_tol[lo:hi, None, None, None, :], axis=-1)
            excess[:, :, mask] = np.inf
            worst = np.max(np.min(excess, axis=-1), axis=-1)  # (L, T)
            maybe = np.abs(worst - 1.0) <= fl.GUARD  # pymatgen may test this candidate or not
            for li, ti in np.argwhere((worst <= 1.0) | maybe):
                passing.append((lo + li, ti, t_s2fc[li, ti], bool(maybe[li, ti])))
        if not passing:
            return None
        return self._score(passing, s1fc, aligned, m2, avg, norm, mask)

    def _score(self, passing, s1fc, aligned, m2, avg, norm, mask) -> tuple[float, float] | None:
        """RMS of every passing candidate; pymatgen's choice among them."""
        lis = np.array([p[0] for p in passing])
        uniq, where = np.unique(lis, return_inverse=True)
        lll_lat, lll_map = self._lll(aligned[uniq], m2, avg[uniq])
        lll_inv = np.linalg.inv(lll_map)
        lll_tol = np.linalg.norm(np.linalg.inv(lll_lat) * 2 * np.pi, axis=1) * self.stol / (np.pi * norm[uniq, None])
        t_s2fc = np.array([p[2] for p in passing])
        n = len(mask)
        step = max(1, CHUNK // (n * n * 27 * 3))
        short = np.empty((len(passing), n, 3))
        out = np.zeros(len(passing), dtype=bool)  # candidates over stol whatever pymatgen's LLL box does
        for lo in range(0, len(passing), step):
            sl = slice(lo, min(len(passing), lo + step))
            w = where[sl]
            d2, vecs, unsure = _shortest(t_s2fc[sl], s1fc[lis[sl]], lll_lat[w], lll_inv[w], lll_tol[w], mask)
            greedy = _row_minima(d2, unsure)
            for c in range(len(d2)):
                if greedy[c] is not None:
                    short[lo + c] = vecs[c][np.arange(n), greedy[c]]
                    continue
                assigned = _assign(d2[c], vecs[c], unsure[c], norm[lis[lo + c]], self.stol)
                short[lo + c] = _BLOCKED if assigned is None else assigned
                out[lo + c] = assigned is None
        centred = short - np.mean(short, axis=1)[:, None, :]
        dist = np.sum(centred**2, axis=-1) ** 0.5 * norm[lis, None]
        vals = np.sqrt(np.sum(dist * dist, axis=-1)) / n**0.5
        vals[out] = np.inf
        return self._choose(vals, np.max(dist, axis=-1), np.array([p[3] for p in passing]))

    def _choose(self, vals: np.ndarray, maxd: np.ndarray, maybe: np.ndarray) -> tuple[float, float] | None:
        """pymatgen's pick: the first candidate under 1e-5, else the smallest, if under ``stol``.

        ``maybe``: candidates on the edge of the fractional site test (pymatgen may or may not
        score them). Picking among all candidates is the same as among the certain ones plus
        any subset of them unless the pick itself is one of them.
        """
        band = np.abs(vals - 1e-5) <= fl.GUARD * 1e-5  # pymatgen may stop at such a candidate or not
        clear = np.nonzero(vals < 1e-5 * (1 - fl.GUARD))[0]
        if band[: (clear[0] if len(clear) else len(vals))].any():
            raise HandOver("RMS on the 1e-5 edge")
        early = np.nonzero(vals < 1e-5)[0]
        best = int(early[0]) if len(early) else int(np.argmin(vals))
        if near(vals[best], self.stol):  # only the pick is compared with stol
            raise HandOver("RMS on the stol edge")
        if not vals[best] < self.stol:
            return None
        if maybe[best]:
            raise HandOver("site on the stol edge (fractional test)")
        if not len(early):
            ties = np.abs(vals - vals[best]) <= TIE_GUARD * vals[best]
            if np.any(np.abs(maxd[ties] - maxd[best]) > TIE_GUARD * maxd[best]):
                raise HandOver("tied RMS with different max distance")
        return float(vals[best]), float(maxd[best])

    def _lll(self, aligned: np.ndarray, m2: np.ndarray, avg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """LLL bases (delta 0.75) of the average lattices and their mappings, as pymatgen has them.

        A lattice with a near tie in the LLL decisions gets pymatgen's own LLL of pymatgen's own
        average lattice (built from the aligned lattice exactly as ``_get_supercells`` builds it).
        """
        reduced, mapping, tie = fl.lll_batch(avg)
        for li in np.nonzero(tie)[0]:
            self.counters.lll_fallbacks += 1
            params = (np.array(Lattice(aligned[li]).parameters) + np.array(Lattice(m2).parameters)) / 2
            lat = Lattice.from_parameters(*params)
            reduced[li], mapping[li] = lat.lll_matrix, lat.lll_mapping
        return reduced, mapping


def _rows_times(frac: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """``frac @ lat`` per candidate, summed in the order pymatgen's Cython loop sums it."""
    return frac[..., 0:1] * lat[:, None, 0] + frac[..., 1:2] * lat[:, None, 1] + frac[..., 2:3] * lat[:, None, 2]


def _rms(short: np.ndarray, norm: float) -> float:
    """pymatgen's RMS of one candidate from its assigned shortest vectors."""
    new_d2 = np.sum((short - np.mean(short, axis=0)) ** 2, axis=-1)
    dist = new_d2**0.5 * norm
    return float(np.linalg.norm(dist) / len(dist) ** 0.5)


def _row_minima(d2: np.ndarray, unsure: np.ndarray) -> list:
    """Per candidate: the column of each row's smallest ``d2`` when those form a permutation and every
    row's minimum is clearly below its second smallest (then it is the only optimal assignment, the
    one ``linear_sum_assignment`` returns); else ``None``."""
    n = d2.shape[-1]
    if n == 1:
        return [np.zeros(1, dtype=int) if d2[c, 0, 0] < _BLOCKED else None for c in range(len(d2))]
    part = np.partition(d2, 1, axis=-1)
    cols = np.argmin(d2, axis=-1)
    total = part[..., 0].sum(axis=-1)
    clear = np.all(part[..., 1] - part[..., 0] > 1e-9 * (total[:, None] + part[..., 1]), axis=-1)
    ok = clear & (np.sort(cols, axis=-1) == np.arange(n)).all(axis=-1) & (part[..., 0] < _BLOCKED).all(axis=-1)
    ok &= ~unsure.any(axis=(1, 2))
    return [cols[c] if ok[c] else None for c in range(len(d2))]


def _assign(d2: np.ndarray, vecs: np.ndarray, unsure: np.ndarray, norm: float, stol: float) -> np.ndarray | None:
    """Assigned shortest vectors of one candidate (``linear_sum_assignment(d2)``).

    ``unsure`` pairs lie on the LLL box edge: pymatgen may block them or not. When that changes
    the assignment, the candidate is irrelevant only if its RMS is over ``stol`` either way
    (then ``None``); otherwise the pair goes to pymatgen.
    """
    row, col = linear_sum_assignment(d2)
    if np.all(d2[row, col] >= _BLOCKED):
        raise HandOver("every assigned pair blocked")
    if not np.any(unsure):
        return vecs[row, col]
    closed_d2, closed_vecs = d2.copy(), vecs.copy()
    closed_d2[unsure], closed_vecs[unsure] = _BLOCKED, _BLOCKED
    closed_col = linear_sum_assignment(closed_d2)[1]
    if np.array_equal(closed_col, col) and not np.any(unsure[row, col]):
        return vecs[row, col]
    both = (_rms(vecs[row, col], norm), _rms(closed_vecs[row, closed_col], norm))
    if min(both) <= stol * (1 + fl.GUARD) or np.all(closed_d2[row, closed_col] >= _BLOCKED):
        raise HandOver("site on the LLL fractional tolerance edge")
    return None  # over stol either way: this candidate cannot be pymatgen's pick


def _shortest(t_s2fc, s1fc, lat, minv, lll_tol, mask) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``pbc_shortest_vectors(avg, t_s2fc, s1fc, mask, return_d2=True, lll_frac_tol)`` for P candidates.

    Also returns the pairs on the edge of the LLL fractional box (pymatgen may block them or not);
    they are left open here.
    """
    fc1 = np.einsum("pij,pjk->pik", t_s2fc, minv)
    fc2 = np.einsum("pij,pjk->pik", s1fc, minv)
    fdist = fc2[:, None, :, :] - fc1[:, :, None, :]  # (P, s2 site, s1 site, 3)
    excess = np.max(np.abs(fdist - np.round(fdist)) / lll_tol[:, None, None, :], axis=-1)
    unsure = (np.abs(excess - 1.0) <= fl.GUARD) & ~mask[None]
    blocked = ((excess > 1.0) & ~unsure) | mask[None]
    cart1, cart2 = _rows_times(fc1 % 1, lat), _rows_times(fc2 % 1, lat)
    images = _rows_times(np.broadcast_to(_IMAGES, (len(lat), 27, 3)), lat)  # (P, 27, 3)
    pre = cart2[:, None, :, :] - cart1[:, :, None, :]  # (P, I, J, 3)
    moved = pre[:, :, :, None, :] + images[:, None, None, :, :]  # (P, I, J, 27, 3)
    d = moved[..., 0] * moved[..., 0] + moved[..., 1] * moved[..., 1] + moved[..., 2] * moved[..., 2]
    k = np.argmin(d, axis=-1)
    d2 = np.take_along_axis(d, k[..., None], axis=-1)[..., 0]
    vecs = np.take_along_axis(moved, k[..., None, None], axis=-2)[..., 0, :]
    d2[blocked] = _BLOCKED
    vecs[blocked] = _BLOCKED
    return d2, vecs, unsure

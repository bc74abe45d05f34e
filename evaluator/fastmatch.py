"""A vectorised, exact ``StructureMatcher.get_rms_dist`` for this toolkit's matcher settings.

Settings: species comparator, ``primitive_cell=True``, ``scale=True``, ``attempt_supercell=False``,
``allow_subset=False``, no ignored species; ``ltol``, ``stol`` and ``angle_tol`` are parameters.

The steps are pymatgen's (``pymatgen.core.structure_matcher``), in its order:

1. reduction: pymatgen's own cached ``_get_reduced_structure`` (Niggli, then primitive cell);
2. equal site counts and species counts, else no match; volumes scaled to each other;
3. lattice mappings of the prediction's lattice onto the target's (``Lattice.find_all_mappings``
   with ``|det| = 1``): the lattice points come from pymatgen's ``get_points_in_sphere``, the
   length, angle and determinant filters run on all (a, b, c) triples at once;
4. every (lattice, translation) candidate tested at once against the fractional site tolerance;
5. for the candidates that pass: the average lattice's LLL basis, the shortest periodic vectors
   over 27 images, ``scipy.optimize.linear_sum_assignment``, the mean translation removed, RMS
   normalised by ``(V / N)^(1/3)``; the first candidate under 1e-5, else the smallest one under
   ``stol``, as pymatgen chooses.

Exact by construction: every comparison of a computed quantity with a threshold (lattice length
ratio, angle, fractional site tolerance, LLL rounding and Lovász test, the 1e-5 early exit, the
final ``< stol``) is checked against a relative guard band :data:`GUARD`; a pair with a quantity
inside the band, with disordered sites, or with a candidate count over the bounds is handed to
pymatgen's own steps, which give ``get_rms_dist``'s result. :class:`MatchCounters` counts pairs
and hand-overs by reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from pymatgen.core import Lattice, Structure
from pymatgen.core.structure_matcher import StructureMatcher
from scipy.optimize import linear_sum_assignment

#: relative guard band around every tolerance comparison (pairs inside it go to pymatgen)
GUARD = 1e-8
#: relative band within which two candidates' RMS count as tied (pymatgen keeps the first)
TIE_GUARD = 1e-11
#: a pair with more (a, b, c) lattice-vector triples than this goes to pymatgen
MAX_TRIPLES = 2_000_000
#: a pair whose site-tolerance test needs more float comparisons than this goes to pymatgen
MAX_WORK = 200_000_000
#: floats per vectorised chunk (bounds memory)
CHUNK = 3_000_000
_BLOCKED = 1e20  # pymatgen's value for a forbidden (site, site) pair
_IMAGES = np.array([[i, j, k] for i in (-1.0, 0.0, 1.0) for j in (-1.0, 0.0, 1.0) for k in (-1.0, 0.0, 1.0)])

Cell = tuple  # (3 × 3 lattice matrix, species symbols, n × 3 fractional coordinates)


class HandOver(Exception):
    """A pair the fast path does not decide; ``reason`` names why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    """A target reduced for the matcher, with the arrays the fast path reads."""

    structure: Structure
    matrix: np.ndarray
    frac: np.ndarray
    species: tuple[str, ...]
    ordered: bool

    @classmethod
    def of(cls, reduced: Structure | Cell) -> ReducedTarget:
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
        )


def _near(value: np.ndarray | float, bound: float) -> bool:
    """Whether any ``value`` lies within the relative guard band of ``bound``."""
    return bool(np.any(np.abs(np.asarray(value) - bound) <= GUARD * abs(bound)))


class FastMatcher:
    """``StructureMatcher(ltol, stol, angle_tol).get_rms_dist``, vectorised, same decisions and values."""

    def __init__(self, ltol: float = 0.3, stol: float = 0.5, angle_tol: float = 10.0) -> None:
        self.ltol, self.stol, self.angle_tol = float(ltol), float(stol), float(angle_tol)
        self.pymatgen = StructureMatcher(
            ltol=ltol, stol=stol, angle_tol=angle_tol, primitive_cell=True, scale=True, attempt_supercell=False
        )
        self.counters = MatchCounters()

    # -- public API ---------------------------------------------------------------------------
    def reduce(self, structure: Structure) -> Structure:
        """The cell ``get_rms_dist`` compares for ``structure`` (species copy, Niggli, primitive)."""
        (copied,) = self.pymatgen._process_species([structure])
        return self.pymatgen._get_reduced_structure(copied, True, True)

    def get_rms_dist(self, pred: Structure, target: Structure) -> tuple[float, float] | None:
        """Drop-in for ``StructureMatcher.get_rms_dist(pred, target)`` (reduces both)."""
        return self.rms_dist(pred, ReducedTarget.of(self.reduce(target)))

    def rms_dist(self, pred: Structure, target: ReducedTarget | Structure | Cell) -> tuple[float, float] | None:
        """``get_rms_dist(pred, target)`` given the target already reduced (:meth:`reduce`).

        ``target``: a :class:`ReducedTarget` (fastest: build it once per target), the reduced
        ``Structure``, or its ``rms.as_cell`` tuple. ``pred``: the prediction as parsed (unreduced).
        Returns ``(rms, max_dist)`` or ``None`` (no match), as pymatgen does.
        """
        if not isinstance(target, ReducedTarget):
            target = ReducedTarget.of(target)
        s1 = self.reduce(pred)
        self.counters.pairs += 1
        try:
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
        ratio = (_volume(target.matrix) / _volume(m1_raw)) ** (1 / 6)
        m1, m2 = m1_raw * ratio, target.matrix / ratio
        mask = np.array(target.species)[:, None] != np.array(sp1)[None, :]  # [s2 site, s1 site]
        s2_t_ind = int(np.argmax(mask.sum(axis=-1)))
        s1_t_inds = np.where(~mask[s2_t_ind])[0]
        aligned = self._lattices(m1, m2)
        if len(aligned) == 0:
            return None
        cart1 = np.dot(np.array(s1.frac_coords, dtype=float), m1)
        return self._search(aligned, m2, cart1, target.frac, mask, s1_t_inds, s2_t_ind)

    def _lattices(self, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
        """The aligned lattices of ``find_all_mappings(m1 → m2)`` with ``|det(scale)| = 1``, in its order."""
        ltol, atol = self.ltol, self.angle_tol
        lengths, angles = _lengths(m2), _angles(m2)
        lat1 = Lattice(m1)
        radius = max(lengths) * (1 + ltol)
        frac, dist, _, _ = lat1.get_points_in_sphere([[0, 0, 0]], [0, 0, 0], radius, zip_results=False)
        if len(frac) == 0:
            return np.zeros((0, 3, 3))
        cart = lat1.get_cartesian_coords(frac)
        ratios = [dist / ln for ln in lengths]
        for r in ratios:
            if _near(r, 1 + ltol) or _near(r, 1 / (1 + ltol)):
                raise HandOver("lattice length on the ltol edge")
        sel = [np.logical_and(r < 1 + ltol, r > 1 / (1 + ltol)) for r in ratios]
        (c_a, c_b, c_c), (f_a, f_b, f_c) = (cart[s] for s in sel), (frac[s] for s in sel)
        if len(c_a) * len(c_b) * len(c_c) > MAX_TRIPLES:
            raise HandOver("too many lattice triples")
        l_a, l_b, l_c = (np.sum(c**2, axis=-1) ** 0.5 for c in (c_a, c_b, c_c))
        pairs = ((c_b, c_c, l_b, l_c, angles[0]), (c_a, c_c, l_a, l_c, angles[1]), (c_a, c_b, l_a, l_b, angles[2]))
        ok = []
        for v1, v2, n1, n2, target_angle in pairs:
            x = np.clip(np.inner(v1, v2) / n1[:, None] / n2, -1, 1)
            diff = np.abs(np.rad2deg(np.arccos(x)) - target_angle)
            if _near(diff, atol):
                raise HandOver("lattice angle on the angle_tol edge")
            ok.append(diff <= atol)
        alpha_b, beta_b, gamma_b = ok
        triples = np.argwhere(gamma_b[:, :, None] & alpha_b[None, :, :] & beta_b[:, None, :])
        i, j, k = triples.T
        scale = np.stack((f_a[i], f_b[j], f_c[k]), axis=1).astype(np.int64)
        keep = np.abs(_int_det(scale)) == 1
        return np.stack((c_a[i[keep]], c_b[j[keep]], c_c[k[keep]]), axis=1)

    def _search(self, aligned, m2, cart1, s2fc, mask, s1_t_inds, s2_t_ind) -> tuple[float, float] | None:
        """Test every (lattice, translation) candidate and pick pymatgen's result."""
        n, n_l, n_t = len(cart1), len(aligned), len(s1_t_inds)
        if n_l * n_t * n * n * 3 > MAX_WORK:
            raise HandOver("too many candidates")
        s1fc = np.einsum("ij,ljk->lik", cart1, np.linalg.inv(aligned))
        s1fc -= np.floor(s1fc)
        avg = _average_lattices(aligned, m2)
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
            if _near(worst[np.isfinite(worst)], 1.0):
                raise HandOver("site on the stol edge (fractional test)")
            for li, ti in np.argwhere(worst <= 1.0):
                passing.append((lo + li, ti, t_s2fc[li, ti]))
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
        for lo in range(0, len(passing), step):
            sl = slice(lo, min(len(passing), lo + step))
            w = where[sl]
            d2, vecs = _shortest(t_s2fc[sl], s1fc[lis[sl]], lll_lat[w], lll_inv[w], lll_tol[w], mask)
            for c in range(len(d2)):
                row, col = linear_sum_assignment(d2[c])
                if np.all(d2[c][row, col] >= _BLOCKED):
                    raise HandOver("every assigned pair blocked")
                short[lo + c] = vecs[c][row, col]
        centred = short - np.mean(short, axis=1)[:, None, :]
        dist = np.sum(centred**2, axis=-1) ** 0.5 * norm[lis, None]
        vals = np.sqrt(np.sum(dist * dist, axis=-1)) / n**0.5
        return self._choose(vals, np.max(dist, axis=-1))

    def _choose(self, vals: np.ndarray, maxd: np.ndarray) -> tuple[float, float] | None:
        """pymatgen's pick: the first candidate under 1e-5, else the smallest, if under ``stol``."""
        if _near(vals, 1e-5) or _near(vals, self.stol):
            raise HandOver("RMS on the 1e-5 or stol edge")
        early = np.nonzero(vals < 1e-5)[0]
        best = int(early[0]) if len(early) else int(np.argmin(vals))
        if not vals[best] < self.stol:
            return None
        if not len(early):
            ties = np.abs(vals - vals[best]) <= TIE_GUARD * vals[best]
            if np.any(np.abs(maxd[ties] - maxd[best]) > GUARD * maxd[best]):
                raise HandOver("tied RMS with different max distance")
        return float(vals[best]), float(maxd[best])

    def _lll(self, aligned: np.ndarray, m2: np.ndarray, avg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """LLL bases (delta 0.75) of the average lattices and their mappings, as pymatgen has them.

        A lattice with a near tie in the LLL decisions gets pymatgen's own LLL of pymatgen's own
        average lattice (built from the aligned lattice exactly as ``_get_supercells`` builds it).
        """
        reduced, mapping, tie = _lll_batch(avg)
        for li in np.nonzero(tie)[0]:
            self.counters.lll_fallbacks += 1
            params = (np.array(Lattice(aligned[li]).parameters) + np.array(Lattice(m2).parameters)) / 2
            lat = Lattice.from_parameters(*params)
            reduced[li], mapping[li] = lat.lll_matrix, lat.lll_mapping
        return reduced, mapping


def _volume(m: np.ndarray) -> float:
    """``Lattice.volume``, computed the same way."""
    return float(abs(np.dot(np.cross(m[0], m[1]), m[2])))


def _lengths(m: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(m**2, axis=-1))


def _angles(m: np.ndarray) -> np.ndarray:
    """alpha, beta, gamma (degrees) of one (3, 3) or many (L, 3, 3) lattices, as ``Lattice.angles``."""
    ln = _lengths(m)
    cosines = [
        np.clip(np.sum(m[..., j, :] * m[..., k, :], axis=-1) / (ln[..., j] * ln[..., k]), -1, 1)
        for j, k in ((1, 2), (2, 0), (0, 1))
    ]
    return np.rad2deg(np.arccos(np.stack(cosines, axis=-1)))


def _int_det(m: np.ndarray) -> np.ndarray:
    """Exact determinants of integer (L, 3, 3) matrices."""
    return (
        m[:, 0, 0] * (m[:, 1, 1] * m[:, 2, 2] - m[:, 1, 2] * m[:, 2, 1])
        - m[:, 0, 1] * (m[:, 1, 0] * m[:, 2, 2] - m[:, 1, 2] * m[:, 2, 0])
        + m[:, 0, 2] * (m[:, 1, 0] * m[:, 2, 1] - m[:, 1, 1] * m[:, 2, 0])
    )


def _average_lattices(aligned: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """``Lattice.from_parameters`` of the mean parameters of each aligned lattice and ``m2``."""
    mine = np.concatenate((_lengths(aligned), _angles(aligned)), axis=-1)
    p = (mine + np.concatenate((_lengths(m2), _angles(m2)))) / 2
    a, b, c = p[:, 0], p[:, 1], p[:, 2]
    rad = np.radians(p[:, 3:])
    cos, sin = np.cos(rad), np.sin(rad)
    val = np.clip((cos[:, 0] * cos[:, 1] - cos[:, 2]) / (sin[:, 0] * sin[:, 1]), -1, 1)
    gamma_star = np.arccos(val)
    out = np.zeros((len(p), 3, 3))
    out[:, 0, 0], out[:, 0, 2] = a * sin[:, 1], a * cos[:, 1]
    out[:, 1, 0] = -b * sin[:, 0] * np.cos(gamma_star)
    out[:, 1, 1] = b * sin[:, 0] * np.sin(gamma_star)
    out[:, 1, 2] = b * cos[:, 0]
    out[:, 2, 2] = c
    return out


def _rows_times(frac: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """``frac @ lat`` per candidate, summed in the order pymatgen's Cython loop sums it."""
    return frac[..., 0:1] * lat[:, None, 0] + frac[..., 1:2] * lat[:, None, 1] + frac[..., 2:3] * lat[:, None, 2]


def _shortest(t_s2fc, s1fc, lat, minv, lll_tol, mask) -> tuple[np.ndarray, np.ndarray]:
    """``pbc_shortest_vectors(avg, t_s2fc, s1fc, mask, return_d2=True, lll_frac_tol)`` for P candidates."""
    fc1 = np.einsum("pij,pjk->pik", t_s2fc, minv)
    fc2 = np.einsum("pij,pjk->pik", s1fc, minv)
    fdist = fc2[:, None, :, :] - fc1[:, :, None, :]  # (P, s2 site, s1 site, 3)
    excess = np.max(np.abs(fdist - np.round(fdist)) / lll_tol[:, None, None, :], axis=-1)
    if _near(excess[:, ~mask], 1.0):
        raise HandOver("site on the LLL fractional tolerance edge")
    blocked = (excess > 1.0) | mask[None]
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
    return d2, vecs


def _ties(u: np.ndarray) -> np.ndarray:
    """Where ``round(u)`` could go either way under rounding differences (a half-integer)."""
    return np.abs(np.abs(u) % 1.0 - 0.5) <= GUARD


def _gram(a, b, u, m, rows: np.ndarray, s: np.ndarray) -> None:
    """Gram-Schmidt of basis vector ``s[r]`` of lattice ``rows[r]`` against the vectors before it."""
    for level in (0, 1, 2):
        r = rows[s == level]
        if not len(r):
            continue
        acc = np.zeros((len(r), 3))
        for j in range(level):
            u[r, level, j] = np.sum(a[r, level] * b[r, j], axis=-1) / m[r, j]
            acc = acc + b[r, j] * u[r, level, j][:, None]
        b[r, level] = a[r, level] - acc
        m[r, level] = np.sum(b[r, level] ** 2, axis=-1)


def _size_reduce(a, mp, u, rows, k, i, tie) -> None:
    """pymatgen's size reduction of vector ``k - 1`` by vector ``i - 1`` (per lattice)."""
    uk = u[rows, k - 1, i - 1]
    tie[rows[_ties(uk)]] = True
    q = np.round(uk)  # half to even, as Python's round
    a[rows, k - 1] -= q[:, None] * a[rows, i - 1]
    mp[rows, k - 1] -= q[:, None] * mp[rows, i - 1]
    two = i == 2  # uu = (u[i-1, :i-1], 1)
    u[rows[two], k[two] - 1, 0] -= q[two] * u[rows[two], 1, 0]
    u[rows, k - 1, i - 1] -= q


def _lll_batch(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pymatgen's ``Lattice._calculate_lll`` (delta 0.75) on many lattices at once.

    Returns the reduced matrices, the mappings (``lll_mapping``) and a flag per lattice that
    is set where a rounding or Lovasz decision came within the guard band of a tie.
    """
    n = len(matrices)
    a = np.array(matrices, dtype=float)  # a[l, c]: basis vector c (pymatgen's column c)
    mp = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()  # mp[l, c]: column c of the mapping
    b, u, m = np.zeros((n, 3, 3)), np.zeros((n, 3, 3)), np.zeros((n, 3))
    every = np.arange(n)
    for level in (0, 1, 2):
        _gram(a, b, u, m, every, np.full(n, level))
    k, tie = np.full(n, 2), np.zeros(n, dtype=bool)
    for _ in range(1000):
        rows = np.nonzero((k <= 3) & ~tie)[0]
        if not len(rows):
            break
        kr = k[rows]
        _size_reduce(a, mp, u, rows, kr, kr - 1, tie)
        three = kr == 3
        _size_reduce(a, mp, u, rows[three], kr[three], np.ones(int(three.sum()), dtype=int), tie)
        lhs = np.sum(b[rows, kr - 1] ** 2, axis=-1)
        rhs = (0.75 - np.abs(u[rows, kr - 1, kr - 2]) ** 2) * np.sum(b[rows, kr - 2] ** 2, axis=-1)
        tie[rows[np.abs(lhs - rhs) <= GUARD * np.maximum(np.abs(lhs), np.abs(rhs))]] = True
        ok = lhs >= rhs
        k[rows[ok]] += 1
        sw, ks = rows[~ok], kr[~ok]
        for arr in (a, mp):
            upper = arr[sw, ks - 1].copy()
            arr[sw, ks - 1] = arr[sw, ks - 2]
            arr[sw, ks - 2] = upper
        _gram(a, b, u, m, sw, ks - 2)
        _gram(a, b, u, m, sw, ks - 1)
        k[sw[ks > 2]] -= 1
        low = sw[ks == 2]  # pymatgen refreshes only u[2, 0:2] here (b[2] stays as it was)
        for j in (0, 1):
            u[low, 2, j] = np.sum(a[low, 2] * b[low, j], axis=-1) / m[low, j]
    else:
        tie[k <= 3] = True
    return a, mp, tie

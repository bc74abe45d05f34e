"""Lattice steps of :mod:`atomgenbench.evaluator.scoring.fastmatch`: mappings, LLL bases, average lattices.

Each function reproduces one pymatgen step (``Lattice.find_all_mappings`` / ``find_mapping``,
``Lattice._calculate_lll``, ``Lattice.from_parameters``)
on NumPy arrays or plain floats. Every decision that compares a computed number with a threshold
checks the relative guard band :data:`GUARD` first: inside it the step raises :class:`HandOver`
(or reports a tie), and the caller lets pymatgen decide. Imports numpy and pymatgen only.
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Lattice

#: relative guard band around every tolerance comparison (values inside it go to pymatgen)
GUARD = 1e-8
#: a pair with more (a, b, c) lattice-vector triples than this goes to pymatgen
MAX_TRIPLES = 2_000_000


class HandOver(Exception):
    """A pair the fast path does not decide; ``reason`` names why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def near(value: np.ndarray | float, bound: float) -> bool:
    """Whether any ``value`` lies within the relative guard band of ``bound``."""
    return bool(np.any(np.abs(np.asarray(value) - bound) <= GUARD * abs(bound)))


def mappings(lat1: Lattice, lengths, angles, ltol: float, atol: float) -> tuple[np.ndarray, np.ndarray]:
    """``lat1.find_all_mappings(other, ltol, atol, skip_rotation_matrix=True)`` as arrays, in its order.

    ``lengths``/``angles``: the other lattice's. Returns the aligned matrices (K, 3, 3) and the
    integer scale matrices (K, 3, 3) of every triple with a non-zero determinant.
    """
    radius = max(lengths) * (1 + ltol)
    frac, dist, _, _ = lat1.get_points_in_sphere([[0, 0, 0]], [0, 0, 0], radius, zip_results=False)
    if len(frac) == 0:
        return np.zeros((0, 3, 3)), np.zeros((0, 3, 3), dtype=np.int64)
    cart = lat1.get_cartesian_coords(frac)
    ratios = [dist / ln for ln in lengths]
    for r in ratios:
        if near(r, 1 + ltol) or near(r, 1 / (1 + ltol)):
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
        if near(diff, atol):
            raise HandOver("lattice angle on the angle_tol edge")
        ok.append(diff <= atol)
    alpha_b, beta_b, gamma_b = ok
    i, j, k = np.argwhere(gamma_b[:, :, None] & alpha_b[None, :, :] & beta_b[:, None, :]).T
    scale = np.stack((f_a[i], f_b[j], f_c[k]), axis=1).astype(np.int64)
    keep = int_det(scale) != 0
    return np.stack((c_a[i[keep]], c_b[j[keep]], c_c[k[keep]]), axis=1), scale[keep]


def volume(m: np.ndarray) -> float:
    """``Lattice.volume``, computed the same way."""
    return float(abs(np.dot(np.cross(m[0], m[1]), m[2])))


def lengths(m: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(m**2, axis=-1))


def angles(m: np.ndarray) -> np.ndarray:
    """alpha, beta, gamma (degrees) of one (3, 3) or many (L, 3, 3) lattices, as ``Lattice.angles``."""
    ln = lengths(m)
    cosines = [
        np.clip(np.sum(m[..., j, :] * m[..., k, :], axis=-1) / (ln[..., j] * ln[..., k]), -1, 1)
        for j, k in ((1, 2), (2, 0), (0, 1))
    ]
    return np.rad2deg(np.arccos(np.stack(cosines, axis=-1)))


def int_det(m: np.ndarray) -> np.ndarray:
    """Exact determinants of integer (L, 3, 3) matrices."""
    return (
        m[:, 0, 0] * (m[:, 1, 1] * m[:, 2, 2] - m[:, 1, 2] * m[:, 2, 1])
        - m[:, 0, 1] * (m[:, 1, 0] * m[:, 2, 2] - m[:, 1, 2] * m[:, 2, 0])
        + m[:, 0, 2] * (m[:, 1, 0] * m[:, 2, 1] - m[:, 1, 1] * m[:, 2, 0])
    )


def average_lattices(aligned: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """``Lattice.from_parameters`` of the mean parameters of each aligned lattice and ``m2``."""
    mine = np.concatenate((lengths(aligned), angles(aligned)), axis=-1)
    p = (mine + np.concatenate((lengths(m2), angles(m2)))) / 2
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


def lll_batch(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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

"""Metric formulas, one small function each (see docs/metrics.md).

All functions take plain numpy arrays; missing values are NaN and are handled
explicitly by the callers so that every denominator is stated.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: default histogram settings of the paper-style KLD
KLD_BINS = 20
KLD_EPSILON = 0.5
#: a value within this fraction of a bin width of a histogram edge counts as lying on the edge
KLD_EDGE_TOLERANCE = 1e-4


def mae(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute error ``mean |pred - target|`` (NaN for empty input)."""
    pred, target = np.asarray(pred, float), np.asarray(target, float)
    return float(np.mean(np.abs(pred - target))) if len(pred) else float("nan")


def histogram_edges(target: np.ndarray, bins: int = KLD_BINS) -> np.ndarray:
    """Shared bin edges fixed from the target values only.

    ``bins`` equal-width bins over [min, max] of the targets (widened by ±0.5 when
    all targets are equal), plus an underflow bin (-inf, min) and an overflow bin
    (max, +inf), so every prediction lands in some bin.
    """
    target = np.asarray(target, float)
    lo, hi = float(np.min(target)), float(np.max(target))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    inner = np.linspace(lo, hi, bins + 1)
    return np.concatenate(([-np.inf], inner, [np.inf]))


def histogram_probs(
    values: np.ndarray, edges: np.ndarray, epsilon: float = KLD_EPSILON, tolerance: float = KLD_EDGE_TOLERANCE
) -> np.ndarray:
    """Smoothed bin probabilities ``(count_k + ε) / (N + K ε)`` for fixed ``edges``.

    The lowest finite edge belongs to the first inner bin (not to the underflow bin).
    """
    k = len(edges) - 1
    counts = np.bincount(histogram_bins(values, edges, tolerance), minlength=k).astype(float)
    return (counts + epsilon) / (counts.sum() + k * epsilon)


def histogram_bins(values: np.ndarray, edges: np.ndarray, tolerance: float = KLD_EDGE_TOLERANCE) -> np.ndarray:
    """Bin index of each value for ``edges`` (0 = underflow, ``len(edges) - 2`` = overflow).

    Bins are ``[e_k, e_k+1)``; the highest finite edge belongs to the last inner bin. The
    outer edges are widened by ``tolerance`` × (inner bin width): a value that far below the
    lowest (above the highest) target still counts in the first (last) inner bin, so float
    noise (a structure written with 8 decimals) cannot push a prediction of the extreme
    target into the under- or overflow bin. The targets themselves never move (they lie in
    [lowest, highest] by construction), nor does any inner edge.
    """
    values = np.asarray(values, float)
    inner = edges[1:-1]
    if tolerance > 0 and len(inner) > 1:
        slack = tolerance * (inner[-1] - inner[0]) / (len(inner) - 1)
        values = np.where((values < inner[0]) & (values >= inner[0] - slack), inner[0], values)
        values = np.where((values > inner[-1]) & (values <= inner[-1] + slack), inner[-1], values)
    idx = np.searchsorted(inner, values, side="right")  # 0 = underflow, len(inner) = overflow
    idx = np.where(values == inner[0], 1, idx)
    return np.where(values == inner[-1], len(inner) - 1, idx)


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """``KL(P‖Q) = Σ p log(p/q)`` in nats, for strictly positive probability vectors."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    return float(np.sum(p * np.log(p / q)))


def kld_histogram(
    pred: np.ndarray,
    target: np.ndarray,
    bins: int = KLD_BINS,
    epsilon: float = KLD_EPSILON,
    edges: np.ndarray | None = None,
    tolerance: float = KLD_EDGE_TOLERANCE,
) -> float:
    """Paper KLD: KL(P_target ‖ Q_pred) between smoothed histograms on target-fixed bins."""
    target, pred = np.asarray(target, float), np.asarray(pred, float)
    if len(target) == 0 or len(pred) == 0:
        return float("nan")
    edges = histogram_edges(target, bins) if edges is None else edges
    return kl_divergence(
        histogram_probs(target, edges, epsilon, tolerance), histogram_probs(pred, edges, epsilon, tolerance)
    )


def kld_paired(pred: np.ndarray, target: np.ndarray) -> float:
    """Legacy AtomBench "KLD": relative entropy of the paired value vectors, each normalised to sum 1.

    ``Σ_i P_i ln(P_i/Q_i)`` with ``P = target/Σtarget``, ``Q = pred/Σpred`` (``scipy.stats.entropy``).
    Not a distribution distance: it is ≈ half the P-weighted variance of relative errors.
    """
    from scipy.stats import entropy

    pred, target = np.asarray(pred, float), np.asarray(target, float)
    if len(pred) == 0 or pred.sum() <= 0 or target.sum() <= 0:
        return float("nan")
    return float(entropy(target / target.sum(), pred / pred.sum()))


def matched_mean(rms: np.ndarray) -> float:
    """Leaderboard RMSE: mean of the finite (matched) values; NaN when nothing matched."""
    rms = np.asarray(rms, float)
    ok = np.isfinite(rms)
    return float(np.mean(rms[ok])) if ok.any() else float("nan")


def penalised_mean(rms: np.ndarray, fill: float) -> float:
    """Mean over all ids with every unmatched id (NaN) counted as ``fill`` (the stol cap)."""
    rms = np.asarray(rms, float)
    return float(np.mean(np.where(np.isfinite(rms), rms, fill))) if len(rms) else float("nan")


def match_rate(rms: np.ndarray) -> float:
    """Fraction of all ids whose RMS is finite (matched)."""
    rms = np.asarray(rms, float)
    return float(np.mean(np.isfinite(rms))) if len(rms) else float("nan")


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float], n: int, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> list[float] | None:
    """Seeded percentile bootstrap CI of ``statistic(indices)`` over ``n`` rows resampled with replacement.

    Returns ``[low, high]``, or ``None`` when fewer than two rows or no finite replicate.
    """
    if n < 2 or n_boot <= 0:
        return None
    draws = bootstrap_draws(n, n_boot, seed)
    return percentile_interval(np.array([statistic(i) for i in draws], float), level)


def bootstrap_draws(n: int, n_boot: int, seed: int) -> np.ndarray:
    """``(n_boot, n)`` row indices drawn with replacement: resample ``b`` is row ``b``.

    One call of a seeded generator; the same numbers as ``n_boot`` successive draws of ``n``.
    """
    return np.random.default_rng(seed).integers(0, n, (n_boot, n))


def percentile_interval(
    replicates: np.ndarray, level: float = 0.95, quantiles: tuple[float, float] | None = None
) -> list[float] | None:
    """``[low, high]`` percentiles of the finite replicates (``None`` when there is none).

    ``quantiles`` overrides the ``((1 - level) / 2, 1 - (1 - level) / 2)`` pair.
    """
    reps = np.asarray(replicates, float)
    reps = reps[np.isfinite(reps)]
    if len(reps) == 0:
        return None
    alpha = (1 - level) / 2
    low, high = quantiles or (alpha, 1 - alpha)
    return [float(np.quantile(reps, low)), float(np.quantile(reps, high))]


def masked_row_means(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``values[b][mask[b]]`` for every row ``b`` of 2-D arrays (NaN for an empty row).

    Rows with the same number of selected values are averaged together, so each result is
    bit-identical to ``np.mean`` of that row's selected values (the 1-D formulas above).
    """
    counts = mask.sum(axis=-1)
    out = np.full(values.shape[0], np.nan)
    for k in np.unique(counts):
        if k:
            sel = counts == k
            out[sel] = values[sel][mask[sel]].reshape(-1, k).mean(axis=-1)
    return out

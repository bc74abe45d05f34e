"""The multi-sample family (K > 1 samples per id): match@k, best-of-k RMSE, single-sample rate, distinct samples."""

from __future__ import annotations

import numpy as np

from atomgenbench.evaluator.metrics.base import (
    HIGHER,
    LOWER,
    MATCHER_SETTINGS,
    RMS_UNIT,
    Metric,
    Rows,
    _mean_where,
    _n_all,
)


def _multi(rows: Rows) -> bool:
    return rows.sample_rms.shape[1] > 1


def _any_match(rows: Rows, k: int | None = None) -> np.ndarray:
    return np.isfinite(rows.sample_rms[:, : k or rows.k]).any(axis=1)


def _best_rms(rows: Rows) -> np.ndarray:
    block = rows.sample_rms[:, : rows.k]
    best = np.where(np.isfinite(block), block, np.inf).min(axis=1)
    return np.where(np.isfinite(best), best, np.nan)


def _distinct_applies(rows: Rows) -> bool:
    """The distinct fraction is over all K samples: only where every sample is in use (and was grouped)."""
    return _multi(rows) and rows.k == rows.k_all and bool(np.isfinite(rows.distinct_fraction).any())


def _per_sample_rates(rows: Rows, idx: np.ndarray) -> np.ndarray:
    """(B, k) match rate of each sample over the resampled rows."""
    return np.isfinite(rows.sample_rms[:, : rows.k][idx]).mean(axis=1)


def sample_metrics() -> list[Metric]:
    """Metrics of runs with K > 1 samples per id (``run --samples K``); reported only for those."""
    call = "StructureMatcher(ltol, stol, angle_tol).get_rms_dist(sample, target)"
    return [
        Metric(
            "samples.match_at_k",
            "match@k (any of the first k samples matches)",
            "fraction",
            "all test ids",
            HIGHER,
            f"fraction of test ids for which {call} is not None for at least one of samples 0 … k−1; "
            "k = K (every sample; `curve` gives k = 1 … K, `compare` uses the smallest K of the models)",
            lambda rows, idx: _any_match(rows)[idx].mean(axis=-1),
            _n_all,
            MATCHER_SETTINGS,
            extra=lambda rows: {
                "k": rows.k,
                "curve": {str(j): float(_any_match(rows, j).mean()) for j in range(1, rows.k + 1)},
            },
            applies=_multi,
        ),
        Metric(
            "samples.best_of_k_rmse",
            "best-of-k RMSE",
            RMS_UNIT,
            "test ids with at least one matched sample",
            LOWER,
            f"mean over those ids of the smallest {call}[0] among their matched samples 0 … k−1",
            _mean_where(_best_rms),
            lambda rows: int(np.isfinite(_best_rms(rows)).sum()),
            MATCHER_SETTINGS,
            population=lambda rows: np.isfinite(_best_rms(rows)),
            applies=_multi,
        ),
        Metric(
            "samples.single_sample_match_rate",
            "single-sample match rate, mean over the k samples",
            "fraction",
            "all test ids, per sample; averaged over samples 0 … k−1",
            HIGHER,
            "mean over s < k of (matched ids of sample s / N_total); `std` is their standard deviation",
            lambda rows, idx: _per_sample_rates(rows, idx).mean(axis=-1),
            _n_all,
            MATCHER_SETTINGS,
            extra=lambda rows: {"std": float(_per_sample_rates(rows, rows.everyone)[0].std()), "k": rows.k},
            applies=_multi,
        ),
        Metric(
            "samples.distinct_fraction",
            "distinct samples per id (fraction)",
            "fraction",
            "test ids with at least one parsed sample (and a finished grouping)",
            HIGHER,
            "mean over those ids of (number of StructureMatcher(ltol, stol, angle_tol).group_structures groups "
            "of the id's parsed samples 0 … K−1) / (its parsed samples); 1: no two samples match, 1/K: all alike",
            _mean_where(lambda rows: rows.distinct_fraction),
            lambda rows: int(np.isfinite(rows.distinct_fraction).sum()),
            MATCHER_SETTINGS,
            population=lambda rows: np.isfinite(rows.distinct_fraction),
            extra=lambda rows: {"k": rows.k_all},
            # over all K samples: reported (and compared) only where every sample is in use
            applies=_distinct_applies,
        ),
    ]

"""The reconstruction families: the leaderboard RMSE with its match rate (and the species-blind legacy
twin), lattice MAE and KLD."""

from __future__ import annotations

import numpy as np

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.evaluator.metrics.base import (
    HIGHER,
    LOWER,
    MATCHER_SETTINGS,
    RMS_UNIT,
    SYMBOL,
    Layout,
    Metric,
    _kld,
    _kld_extra,
    _kld_paired,
    _mae,
    _match_rate,
    _matched_mean,
    _n_all,
    _n_finite,
    _n_pairs,
    _penalised,
)
from atomgenbench.evaluator.scoring.lattice import UNITS


def _rmse_family(family: str, function: str, what: str) -> list[Metric]:
    attr = "rms" if family == "rmse" else "rms_anonymous"
    # the species-blind match is opt-in (`evaluate --legacy-anonymous`): reported only when it ran
    applies = None if family == "rmse" else (lambda rows: rows.anonymous)
    shared = {"layout": Layout.RMSE, "compare": family == "rmse", "legacy": family != "rmse", "applies": applies}
    call = f"StructureMatcher(ltol, stol, angle_tol).{function}(pred, target)[0]"
    return [
        Metric(
            f"{family}",
            f"RMSE{what}, matched only",
            RMS_UNIT,
            "matched ids",
            LOWER,
            f"mean over matched ids of {call}",
            _matched_mean(attr),
            _n_finite(attr),
            MATCHER_SETTINGS,
            info={"function": function},
            **shared,
        ),
        Metric(
            f"{family}.match_rate",
            f"match rate{what}",
            "fraction",
            "all test ids",
            HIGHER,
            f"n_matched / N_total ({call} not None; failures count as unmatched)",
            _match_rate(attr),
            _n_all,
            MATCHER_SETTINGS,
            **shared,
        ),
        Metric(
            f"{family}.penalised",
            f"RMSE{what}, penalised (unmatched = stol)",
            RMS_UNIT,
            "all test ids, unmatched counted as stol",
            LOWER,
            "mean over all test ids, every unmatched id counted as stol",
            _penalised(attr),
            _n_all,
            MATCHER_SETTINGS,
            **shared,
        ),
    ]


def _lattice_family(family: str, kind: str, label: str, formula: str, compare: bool) -> list[Metric]:
    return [
        Metric(
            f"{family}.{p}",
            f"{label} {SYMBOL[p]}",
            UNITS[p],
            "parsed pairs",
            LOWER,
            formula,
            _mae(kind, j),
            _n_pairs(kind),
            ("lattice_reduction",) if kind == "niggli" else (),
            population=lambda rows, kind=kind: rows.pairs(kind),
            compare=compare,
        )
        for j, p in enumerate(LATTICE_PARAMS)
    ]


def reconstruction_metrics() -> list[Metric]:
    """The reconstruction families, in registry order."""
    out = _rmse_family("rmse", "get_rms_dist", "")
    out += _rmse_family("rmse_anonymous", "get_rms_anonymous", ", species-blind (legacy leaderboard)")
    out += _lattice_family(
        "mae", "niggli", "Niggli MAE", "mean over parsed pairs of |pred − target| of the Niggli-reduced parameter", True
    )
    out += _lattice_family(
        "mae_raw",
        "raw",
        "raw-cell MAE",
        "mean over parsed pairs of |pred − target| of the unreduced jarvis parameter (the leaderboard's lattice files)",
        False,
    )
    out += [
        Metric(
            f"kld.{p}",
            f"histogram KLD {SYMBOL[p]}",
            "nats",
            "targets: all test ids; predictions: parsed",
            LOWER,
            "KL(P_target ‖ Q_pred) = Σ_b p_b ln(p_b / q_b) between smoothed histograms on target-fixed bins",
            _kld(p),
            lambda rows: int(np.isfinite(rows.niggli_pred).all(axis=1).sum()),
            ("kld_bins", "kld_epsilon"),
            extra=_kld_extra(p),
        )
        for j, p in enumerate(LATTICE_PARAMS)
    ]
    out += [
        Metric(
            f"kld_paired.{p}",
            f"paired KLD {SYMBOL[p]} (legacy)",
            "nats",
            "parsed pairs",
            LOWER,
            "Σ_i P_i ln(P_i / Q_i), P = target/Σtarget, Q = pred/Σpred over parsed pairs (scipy.stats.entropy)",
            _kld_paired(j),
            _n_pairs("niggli"),
            info={"legacy": True, "definition": "scipy.stats.entropy(target/sum, pred/sum)"},
            ci=False,
            compare=False,
            legacy=True,
        )
        for j, p in enumerate(LATTICE_PARAMS)
    ]
    return out

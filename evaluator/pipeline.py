"""``evaluate``: every paper and leaderboard metric of one model on one structure benchmark."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from atomgenbench.benchmarks.atomgen.dataset import load_splits
from atomgenbench.benchmarks.atomgen.predictions import Predictions
from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS, get_spec
from atomgenbench.evaluator import stats
from atomgenbench.evaluator.lattice import UNITS, as_array
from atomgenbench.evaluator.matching import MatchSettings, PairRecord, score_pairs
from atomgenbench.evaluator.results import EvaluationResult, RmseValue, Value


def evaluate(
    predictions: Predictions,
    benchmark: str,
    *,
    workers: int = 1,
    engine: str = "process",
    scheduler: str | None = None,
    max_atoms: int = 200,
    time_limit_s: float = 60.0,
    seed: int = 0,
    n_boot: int = 1000,
    kld_bins: int = stats.KLD_BINS,
    kld_epsilon: float = stats.KLD_EPSILON,
    symprec: float = 0.1,
    progress: bool = False,
) -> EvaluationResult:
    """Evaluate ``predictions`` on structure benchmark ``benchmark``.

    Every test id is scored; an id without a usable prediction counts as unmatched and
    is listed in ``failures`` with its reason. Ids not in the test split are listed too.
    """
    spec = get_spec(benchmark)
    if spec.kind != "structure":
        raise ValueError(f"{benchmark} is a lattice-parameter benchmark; score its leaderboard file instead")
    targets = load_splits(benchmark)["test"]
    settings = MatchSettings(max_atoms=max_atoms, time_limit_s=time_limit_s, symprec=symprec)
    tasks = [(k, predictions.structures.get(k, ""), str(t), settings) for k, t in targets.items()]
    records = score_pairs(
        tasks, workers=workers, progress=progress, desc=f"evaluate {benchmark}", engine=engine, scheduler=scheduler
    )
    failures = _failures(records, predictions, targets)
    rng_seed = int(seed)
    result = EvaluationResult(
        benchmark=benchmark,
        model=predictions.model or "",
        n_total=len(targets),
        n_predicted=sum(1 for k in targets if predictions.structures.get(k)),
        n_parsed=sum(r.parsed for r in records),
        rmse=rmse_value(records, "rms", "get_rms_dist", settings, n_boot, rng_seed),
        rmse_anonymous=rmse_value(records, "rms_anonymous", "get_rms_anonymous", settings, n_boot, rng_seed),
        mae=lattice_mae(records, "niggli", n_boot, rng_seed),
        mae_raw=lattice_mae(records, "raw", n_boot, rng_seed),
        kld=lattice_kld(records, kld_bins, kld_epsilon, n_boot, rng_seed),
        kld_paired=lattice_kld_paired(records),
        by_crystal_system=crystal_system_breakdown(records, settings.stol),
        failures=failures,
        settings={
            "matcher": settings.matcher_info(),
            "max_atoms": max_atoms,
            "time_limit_s": time_limit_s,
            "seed": seed,
            "n_bootstrap": n_boot,
            "ci_level": 0.95,
            "lattice_reduction": "niggli (cell as given)",
            "symprec": symprec,
            "kld_bins": kld_bins,
            "kld_epsilon": kld_epsilon,
        },
        records=records,
    )
    return result


def _failures(records: list[PairRecord], predictions: Predictions, targets: dict) -> dict[str, str]:
    out = {k: "id not in the benchmark test split" for k in predictions.structures if k not in targets}
    for r in records:
        reason = r.reason
        if reason == "no prediction":
            reason = predictions.failures.get(r.id) or (
                "missing from the predictions" if r.id not in predictions.structures else reason
            )
        if reason or r.match_note:
            out[r.id] = reason or r.match_note
    return out


def _rms_array(records: list[PairRecord], attr: str) -> np.ndarray:
    return np.array([np.nan if getattr(r, attr) is None else getattr(r, attr) for r in records], float)


def rmse_value(records, attr: str, function: str, settings: MatchSettings, n_boot: int, seed: int) -> RmseValue:
    """Matched-only mean, match rate and penalised mean of one matcher flavour, with CIs."""
    rms = _rms_array(records, attr)
    n = len(rms)
    return RmseValue(
        function=function,
        value=stats.matched_mean(rms),
        n_matched=int(np.isfinite(rms).sum()),
        n_total=n,
        ci95=stats.bootstrap_ci(lambda i: stats.matched_mean(rms[i]), n, n_boot=n_boot, seed=seed),
        match_rate_ci95=stats.bootstrap_ci(lambda i: stats.match_rate(rms[i]), n, n_boot=n_boot, seed=seed),
        penalised=stats.penalised_mean(rms, settings.stol),
        penalised_ci95=stats.bootstrap_ci(
            lambda i: stats.penalised_mean(rms[i], settings.stol), n, n_boot=n_boot, seed=seed
        ),
        tolerances={"ltol": settings.ltol, "stol": settings.stol, "angle_tol": settings.angle_tol},
    )


def _params(records, kind: str) -> tuple[np.ndarray, np.ndarray]:
    pred = as_array([getattr(r, f"{kind}_pred") if r.parsed else None for r in records])
    tgt = as_array([getattr(r, f"{kind}_target") for r in records])
    return pred, tgt


def lattice_mae(records, kind: str, n_boot: int, seed: int) -> dict[str, Value]:
    """Per-parameter MAE over parsed pairs (``kind``: ``niggli`` or ``raw``)."""
    pred, tgt = _params(records, kind)
    ok = np.isfinite(pred).all(axis=1) & np.isfinite(tgt).all(axis=1)
    out = {}
    for j, name in enumerate(LATTICE_PARAMS):
        p, t = pred[ok, j], tgt[ok, j]
        ci = stats.bootstrap_ci(lambda i: stats.mae(p[i], t[i]), len(p), n_boot=n_boot, seed=seed)  # noqa: B023
        out[name] = Value(stats.mae(p, t), int(ok.sum()), "parsed pairs", ci, UNITS[name])
    return out


def lattice_kld(records, bins: int, epsilon: float, n_boot: int, seed: int) -> dict[str, Value]:
    """Histogram KL(P_target ‖ Q_pred) per Niggli parameter; targets of all ids, predictions that parsed."""
    pred, tgt = _params(records, "niggli")
    has_t = np.isfinite(tgt).all(axis=1)
    has_p = np.isfinite(pred).all(axis=1)
    out = {}
    for j, name in enumerate(LATTICE_PARAMS):
        t_all, p_all = tgt[:, j], pred[:, j]
        if not has_t.any():
            out[name] = Value(float("nan"), 0, "no targets")
            continue
        edges = stats.histogram_edges(t_all[has_t], bins)

        def stat(i, t_all=t_all, p_all=p_all, edges=edges):
            return stats.kld_histogram(p_all[i][has_p[i]], t_all[i][has_t[i]], epsilon=epsilon, edges=edges)

        value = stat(np.arange(len(records)))
        ci = stats.bootstrap_ci(stat, len(records), n_boot=n_boot, seed=seed)
        out[name] = Value(
            value,
            int(has_p.sum()),
            "targets: all test ids; predictions: parsed",
            ci,
            "nats",
            extra={
                "n_target": int(has_t.sum()),
                "bins": bins,
                "epsilon": epsilon,
                "edges": [float(x) for x in edges[1:-1]],
                "binning": "equal width over target range + underflow/overflow bins",
            },
        )
    return out


def lattice_kld_paired(records) -> dict[str, Value]:
    """Legacy AtomBench paired "KLD" per Niggli parameter over parsed pairs."""
    pred, tgt = _params(records, "niggli")
    ok = np.isfinite(pred).all(axis=1) & np.isfinite(tgt).all(axis=1)
    return {
        name: Value(
            stats.kld_paired(pred[ok, j], tgt[ok, j]),
            int(ok.sum()),
            "parsed pairs",
            None,
            "nats",
            extra={"legacy": True, "definition": "scipy.stats.entropy(target/sum, pred/sum)"},
        )
        for j, name in enumerate(LATTICE_PARAMS)
    }


def crystal_system_breakdown(records, stol: float) -> dict[str, dict]:
    """Match rate, RMSE and Niggli MAE per crystal system of the target."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        groups[r.crystal_system or "unknown"].append(i)
    rms = _rms_array(records, "rms")
    pred, tgt = _params(records, "niggli")
    out = {}
    for system in sorted(groups):
        idx = np.array(groups[system])
        ok = idx[np.isfinite(pred[idx]).all(axis=1) & np.isfinite(tgt[idx]).all(axis=1)]
        out[system] = {
            "n": int(len(idx)),
            "n_parsed": int(len(ok)),
            "n_matched": int(np.isfinite(rms[idx]).sum()),
            "match_rate": stats.match_rate(rms[idx]),
            "rmse": _nan_none(stats.matched_mean(rms[idx])),
            "rmse_penalised": stats.penalised_mean(rms[idx], stol),
            "mae": {name: _nan_none(stats.mae(pred[ok, j], tgt[ok, j])) for j, name in enumerate(LATTICE_PARAMS)},
        }
    return out


def _nan_none(x: float):
    return None if not np.isfinite(x) else float(x)

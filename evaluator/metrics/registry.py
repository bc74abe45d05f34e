"""The metric registry: every number ``evaluate`` and ``compare`` report, defined once.

Each :class:`Metric` is a typed record: its ``name`` is where it sits in ``metrics.json``
(``"mae.a"`` is ``metrics["mae"]["a"]``; a dict there holds it under ``"value"``), with a
label, unit, denominator, direction, formula text, the settings it depends on, and the
function that computes it from the per-row arrays of :class:`Rows`.

Statistics are vectorised: ``metric.statistic(rows, idx)`` takes an ``(n_resamples, n)``
array of row indices and returns one value per resample, so the point value (``idx`` =
every row once), the bootstrap CIs of ``evaluate`` and the paired bootstrap of ``compare``
all call the same function. Adding a metric means adding one entry to :data:`REGISTRY`
(and its line in docs/metrics.md, which a test checks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.evaluator.scoring import stats
from atomgenbench.evaluator.scoring.ccrmsd import AMD_K, LEGACY_TAU
from atomgenbench.evaluator.scoring.lattice import PLACEHOLDER_RAW, UNITS, as_array
from atomgenbench.evaluator.scoring.symmetry import CRYSTAL_SYSTEMS, confusion

LOWER, HIGHER = "lower", "higher"
NAN = float("nan")
SYMBOL = {"a": "a", "b": "b", "c": "c", "alpha": "α", "beta": "β", "gamma": "γ"}

#: top-level ``metrics.json`` keys that are not registry metrics
META_KEYS = ("schema_version", "kind", "benchmark", "model", "n_total", "n_predicted", "n_parsed")
TRAILER_KEYS = ("settings", "versions", "failures")
#: tables computed from the per-row values (see :func:`breakdowns`)
BREAKDOWN_KEYS = ("by_crystal_system", "by_stratum", "crystal_system_confusion", "notes")

Statistic = Callable[["Rows", np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Metric:
    """One reported number: what it is, how it is computed and how to read it."""

    name: str  # metrics.json key path, dotted: "rmse", "rmse.match_rate", "mae.a"
    label: str
    unit: str
    denominator: str
    direction: str  # LOWER or HIGHER is better
    formula: str
    statistic: Statistic  # (rows, (B, n) indices) -> (B,) values
    count: Callable[[Rows], int]  # the ``n`` written next to the value
    settings: tuple[str, ...] = ()  # keys of metrics.json["settings"] the value depends on
    population: Callable[[Rows], np.ndarray] | None = None  # rows its CI resamples (None: all test ids)
    extra: Callable[[Rows], dict] | None = None  # more fields of its metrics.json entry
    info: dict = field(default_factory=dict)  # fixed fields of its metrics.json entry
    layout: str = "value"  # "value": a Value dict; "rmse": part of the RMSE family layout
    ci: bool = True  # bootstrap CI in metrics.json
    compare: bool = True  # a row of `compare` (paired bootstrap difference)
    legacy: bool = False
    applies: Callable[[Rows], bool] | None = None  # None: always; else only reported where True

    @property
    def family(self) -> str:
        """Top-level metrics.json key."""
        return self.name.split(".", 1)[0]

    @property
    def key(self) -> str | None:
        """Key inside the family (``None`` for a metric that is the family itself)."""
        return self.name.split(".", 1)[1] if "." in self.name else None

    def value(self, rows: Rows) -> float:
        """Point value over every row."""
        return float(self.statistic(rows, rows.everyone)[0])

    def ci95(self, rows: Rows, n_boot: int, seed: int, level: float = 0.95) -> list[float] | None:
        """Seeded percentile bootstrap CI, resampling :attr:`population` (see docs/metrics.md)."""
        if not self.ci:
            return None
        pop = np.arange(rows.n) if self.population is None else np.flatnonzero(self.population(rows))
        if len(pop) < 2 or n_boot <= 0:
            return None
        return stats.percentile_interval(self.statistic(rows, pop[rows.draws(len(pop), n_boot, seed)]), level)


class Rows:
    """Per-row arrays of one evaluation, built once from its PairRecords (NaN: not available)."""

    def __init__(self, records, settings: dict):
        self.n = len(records)
        self.ids = [r.id for r in records]
        self.settings = settings
        self.stol = float(settings["matcher"]["stol"])
        self.kld_bins = int(settings["kld_bins"])
        self.kld_epsilon = float(settings["kld_epsilon"])
        self.parsed = np.array([bool(r.parsed) for r in records], bool)
        self.rms = _floats(records, "rms")
        self.rms_anonymous = _floats(records, "rms_anonymous")
        self.anonymous = bool(settings.get("legacy_anonymous", True))  # was get_rms_anonymous run?
        self.niggli_pred = as_array([r.niggli_pred if r.parsed else None for r in records])
        self.niggli_target = as_array([r.niggli_target for r in records])
        self.raw_pred = as_array([r.raw_pred if r.parsed else None for r in records])
        self.raw_target = as_array([r.raw_target for r in records])
        self.crystal_system = np.array([r.crystal_system or "unknown" for r in records], object)
        self.kld_edge_tolerance = float(settings.get("kld_edge_tolerance", 0.0))
        self.amd_distance = _floats(records, "amd_distance")
        self.ccrmsd_tau = float(settings.get("ccrmsd_legacy_tau", LEGACY_TAU))
        self.valid = {
            "structural": _flags(records, "valid_structural"),
            "composition": _flags(records, "valid_composition"),
        }
        self.target_valid = {
            "structural": _flags(records, "target_valid_structural"),
            "composition": _flags(records, "target_valid_composition"),
        }
        sg_pred, sg_target = _floats(records, "spacegroup_pred"), _floats(records, "spacegroup_target")
        self.same_spacegroup = self.parsed & np.isfinite(sg_target) & (sg_pred == sg_target)
        cs_pred = np.array([r.crystal_system_pred if r.parsed else None for r in records], object)
        known = np.isin(self.crystal_system, CRYSTAL_SYSTEMS)
        self.crystal_system_pred = cs_pred
        self.same_crystal_system = self.parsed & known & (cs_pred == self.crystal_system)
        self.everyone = np.arange(self.n)[None, :]
        self.sample_rms = _sample_matrix(records, self.rms)  # (n, K): RMS of sample s, NaN = unmatched
        self.k = self.sample_rms.shape[1]  # samples used by the multi-sample metrics (compare: equal k)
        self.k_all = self.k  # samples of the run
        self.distinct_fraction = _distinct_fraction(records)  # NaN: no parsed sample or grouping unfinished
        self._draws: dict[tuple[int, int, int], np.ndarray] = {}

    def draws(self, n: int, n_boot: int, seed: int) -> np.ndarray:
        """Bootstrap draws for a population of ``n`` rows (cached: every metric resamples the same rows)."""
        key = (n, n_boot, seed)
        if key not in self._draws:
            self._draws[key] = stats.bootstrap_draws(n, n_boot, seed)
        return self._draws[key]

    def pairs(self, kind: str) -> np.ndarray:
        """Rows whose prediction and target both have all six ``kind`` (niggli/raw) parameters."""
        return self._pairs[kind]

    @cached_property
    def _pairs(self) -> dict[str, np.ndarray]:
        return {
            kind: np.isfinite(getattr(self, f"{kind}_pred")).all(axis=1)
            & np.isfinite(getattr(self, f"{kind}_target")).all(axis=1)
            for kind in ("niggli", "raw")
        }

    def abs_errors(self, kind: str) -> np.ndarray:
        """``|pred − target|`` per row and parameter, NaN outside :meth:`pairs`."""
        return self._abs_errors[kind]

    @cached_property
    def _abs_errors(self) -> dict[str, np.ndarray]:
        out = {}
        for kind in ("niggli", "raw"):
            err = np.abs(getattr(self, f"{kind}_pred") - getattr(self, f"{kind}_target"))
            err[~self.pairs(kind)] = np.nan
            out[kind] = err
        return out

    @cached_property
    def raw_pred_packaged(self) -> np.ndarray:
        """Raw parameters as the packaged lattice files hold them: the placeholder cell where nothing parsed."""
        out = self.raw_pred.copy()
        out[~self.parsed] = PLACEHOLDER_RAW
        return out

    @cached_property
    def kld_edges(self) -> dict[str, np.ndarray | None]:
        """Histogram edges per Niggli parameter, fixed from the targets of all test ids."""
        out = {}
        for j, p in enumerate(LATTICE_PARAMS):
            t = self.niggli_target[:, j]
            out[p] = stats.histogram_edges(t[np.isfinite(t)], self.kld_bins) if np.isfinite(t).any() else None
        return out

    @cached_property
    def kld_bin_index(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(target bins, prediction bins) per parameter; -1 where the value is missing."""
        out = {}
        for j, p in enumerate(LATTICE_PARAMS):
            edges = self.kld_edges[p]
            pair = []
            for values in (self.niggli_target[:, j], np.where(self.parsed, self.niggli_pred[:, j], np.nan)):
                ok = np.isfinite(values)
                bins = np.full(self.n, -1)
                if edges is not None:
                    bins[ok] = stats.histogram_bins(values[ok], edges, self.kld_edge_tolerance)
                pair.append(bins)
            out[p] = (pair[0], pair[1])
        return out


def _sample_matrix(records, rms: np.ndarray) -> np.ndarray:
    """Column 0 the sample-0 RMS, then each record's ``extra["sample_rms"]`` (samples 1 … K−1)."""
    more = [list(r.extra.get("sample_rms") or []) for r in records]
    k = 1 + max((len(m) for m in more), default=0)
    out = np.full((len(records), k), np.nan)
    out[:, 0] = rms
    for i, m in enumerate(more):
        out[i, 1 : 1 + len(m)] = [np.nan if v is None else v for v in m]
    return out


def _distinct_fraction(records) -> np.ndarray:
    """Per id, ``extra["n_distinct"] / extra["n_samples_parsed"]`` (NaN where either is missing or 0)."""
    out = np.full(len(records), np.nan)
    for i, r in enumerate(records):
        distinct, parsed = r.extra.get("n_distinct"), r.extra.get("n_samples_parsed")
        if distinct is not None and parsed:
            out[i] = distinct / parsed
    return out


def _floats(records, attr: str) -> np.ndarray:
    return np.array([np.nan if getattr(r, attr) is None else getattr(r, attr) for r in records], float)


def _flags(records, attr: str) -> np.ndarray:
    """True only where the record says True (a missing or unassessed row is not valid)."""
    return np.array([getattr(r, attr) is True for r in records], bool)


# --------------------------------------------------------------------------- statistics


def _mean_where(values: np.ndarray) -> Statistic:
    """Mean of the finite ``values`` among the resampled rows."""

    def stat(rows: Rows, idx: np.ndarray) -> np.ndarray:
        v = values(rows)[idx]
        return stats.masked_row_means(v, np.isfinite(v))

    return stat


def _matched_mean(attr: str) -> Statistic:
    return _mean_where(lambda rows: getattr(rows, attr))


def _match_rate(attr: str) -> Statistic:
    def stat(rows: Rows, idx: np.ndarray) -> np.ndarray:
        return np.isfinite(getattr(rows, attr)[idx]).mean(axis=-1)

    return stat


def _penalised(attr: str) -> Statistic:
    def stat(rows: Rows, idx: np.ndarray) -> np.ndarray:
        v = getattr(rows, attr)[idx]
        return np.where(np.isfinite(v), v, rows.stol).mean(axis=-1)

    return stat


def _mae(kind: str, j: int) -> Statistic:
    return _mean_where(lambda rows: rows.abs_errors(kind)[:, j])


def _kld(p: str) -> Statistic:
    def stat(rows: Rows, idx: np.ndarray) -> np.ndarray:
        edges = rows.kld_edges[p]
        if edges is None:
            return np.full(len(idx), np.nan)
        k = len(edges) - 1
        t_bins, p_bins = rows.kld_bin_index[p]
        probs, present = [], []
        for bins in (t_bins[idx], p_bins[idx]):
            ok = bins >= 0
            flat = (np.arange(len(idx))[:, None] * k + bins)[ok]
            counts = np.bincount(flat, minlength=len(idx) * k).reshape(len(idx), k).astype(float)
            probs.append((counts + rows.kld_epsilon) / (counts.sum(axis=1, keepdims=True) + k * rows.kld_epsilon))
            present.append(ok.any(axis=1))
        out = np.sum(probs[0] * np.log(probs[0] / probs[1]), axis=1)
        return np.where(present[0] & present[1], out, np.nan)

    return stat


def _rate(flags: Callable[[Rows], np.ndarray]) -> Statistic:
    """Fraction of the resampled rows whose flag is True."""

    def stat(rows: Rows, idx: np.ndarray) -> np.ndarray:
        return flags(rows)[idx].mean(axis=-1)

    return stat


def _root_mean_square(values: Callable[[Rows], np.ndarray]) -> Statistic:
    """sqrt(mean x²) over the finite ``values`` of the resampled rows."""

    def stat(rows: Rows, idx: np.ndarray) -> np.ndarray:
        v = values(rows)[idx]
        return np.sqrt(stats.masked_row_means(v * v, np.isfinite(v)))

    return stat


def _kld_paired(j: int) -> Statistic:
    def stat(rows: Rows, idx: np.ndarray) -> np.ndarray:
        ok = rows.pairs("niggli")
        pred, tgt = rows.niggli_pred[:, j], rows.niggli_target[:, j]
        return np.array([stats.kld_paired(pred[i][ok[i]], tgt[i][ok[i]]) for i in idx])

    return stat


def _n_finite(attr: str) -> Callable[[Rows], int]:
    return lambda rows: int(np.isfinite(getattr(rows, attr)).sum())


def _n_pairs(kind: str) -> Callable[[Rows], int]:
    return lambda rows: int(rows.pairs(kind).sum())


def _n_all(rows: Rows) -> int:
    return rows.n


def _kld_extra(p: str) -> Callable[[Rows], dict]:
    def extra(rows: Rows) -> dict:
        edges = rows.kld_edges[p]
        return {
            "n_target": int(np.isfinite(rows.niggli_target).all(axis=1).sum()),
            "bins": rows.kld_bins,
            "epsilon": rows.kld_epsilon,
            "edges": [] if edges is None else [float(x) for x in edges[1:-1]],
            "binning": "equal width over target range + underflow/overflow bins",
            "edge_tolerance": rows.kld_edge_tolerance,
            "edge_rule": (
                f"bins [lower, upper), the highest edge in the last inner bin; the two outer edges widened by "
                f"{rows.kld_edge_tolerance:g} bin widths, so a prediction that much beyond the extreme targets "
                "counts in the edge bin, not in the under/overflow bin"
            ),
        }

    return extra


# --------------------------------------------------------------------------- the registry

RMS_UNIT = "dimensionless (fraction of (V/N)^(1/3))"
MATCHER_SETTINGS = ("matcher",)


def _rmse_family(family: str, function: str, what: str) -> list[Metric]:
    attr = "rms" if family == "rmse" else "rms_anonymous"
    # the species-blind match is opt-in (`evaluate --legacy-anonymous`): reported only when it ran
    applies = None if family == "rmse" else (lambda rows: rows.anonymous)
    shared = {"layout": "rmse", "compare": family == "rmse", "legacy": family != "rmse", "applies": applies}
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


def _metrics() -> list[Metric]:
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
    out += _new_metrics()
    return out


def _amd(rows: Rows) -> np.ndarray:
    return rows.amd_distance


def _amd_capped(rows: Rows) -> np.ndarray:
    return np.minimum(rows.amd_distance, rows.ccrmsd_tau)


def _new_metrics() -> list[Metric]:
    """ccRMSD, validity, symmetry agreement and the packaged-file MAE (issue 15)."""
    amd_formula = "d_i = max_j |AMD_k(pred_i)_j − AMD_k(target_i)_j| (L∞, Å) of the Niggli-reduced cells, k = amd_k; "
    out = [
        Metric(
            "ccrmsd",
            f"ccRMSD (AMD, k = {AMD_K})",
            "Å",
            "parsed pairs (prediction and target both parse)",
            LOWER,
            amd_formula + "ccRMSD = sqrt(mean_i d_i²); no matching",
            _root_mean_square(_amd),
            _n_finite("amd_distance"),
            ("amd_k",),
            population=lambda rows: np.isfinite(rows.amd_distance),
            info={"amd_k": AMD_K, "package": "average-minimum-distance (import amd)"},
        ),
        Metric(
            "ccrmsd_legacy",
            f"ccRMSE, capped at τ = {LEGACY_TAU} (legacy)",
            "Å",
            "parsed pairs (prediction and target both parse)",
            LOWER,
            amd_formula + "ccRMSE = sqrt(mean_i min(d_i, τ)²) (the authors' compute_metrics.py before bbfce44)",
            _root_mean_square(_amd_capped),
            _n_finite("amd_distance"),
            ("amd_k", "ccrmsd_legacy_tau"),
            population=lambda rows: np.isfinite(rows.amd_distance),
            info={"amd_k": AMD_K, "tau": LEGACY_TAU, "legacy": True},
            legacy=True,
        ),
    ]
    checks = {
        "structural": ("structural validity", "all distances ≥ 0.5 Å (periodic images included) and volume ≥ 0.1 Å³"),
        "composition": ("composition validity", "SMACT charge neutrality + Pauling electronegativity test (CDVAE)"),
        "both": ("structural and composition validity", "both of the above"),
    }
    for side, attr, who, over, compare in (
        ("validity", "valid", "predictions", "all test ids (a missing or unparseable prediction is invalid)", True),
        ("validity_target", "target_valid", "targets", "all test ids (the benchmark's own structures)", False),
    ):
        for key, (label, rule) in checks.items():

            def flags(rows: Rows, attr=attr, key=key) -> np.ndarray:
                v = getattr(rows, attr)
                return v["structural"] & v["composition"] if key == "both" else v[key]

            out.append(
                Metric(
                    f"{side}.{key}",
                    f"{label}{'' if compare else ' of the targets'}",
                    "fraction",
                    over,
                    HIGHER,
                    f"fraction of test ids whose {who} pass: {rule}",
                    _rate(flags),
                    _n_all,
                    ("validity",),
                    ci=compare,
                    compare=compare,
                )
            )
    out += [
        Metric(
            "symmetry.spacegroup",
            "space-group agreement",
            "fraction",
            "all test ids (a missing or unparseable prediction disagrees)",
            HIGHER,
            "fraction of test ids whose prediction has the target's space-group number "
            "(SpacegroupAnalyzer, symprec, both on the cell as given)",
            _rate(lambda rows: rows.same_spacegroup),
            _n_all,
            ("symprec", "symmetry"),
        ),
        Metric(
            "symmetry.crystal_system",
            "crystal-system agreement",
            "fraction",
            "all test ids (a missing or unparseable prediction disagrees)",
            HIGHER,
            "fraction of test ids whose prediction has the target's crystal system (from the space groups)",
            _rate(lambda rows: rows.same_crystal_system),
            _n_all,
            ("symprec", "symmetry"),
        ),
    ]
    for j, p in enumerate(LATTICE_PARAMS):
        out.append(
            Metric(
                f"mae_same_system.{p}",
                f"Niggli MAE {SYMBOL[p]}, same crystal system",
                UNITS[p],
                "parsed pairs whose predicted crystal system equals the target's",
                LOWER,
                "mean |pred − target| of the Niggli-reduced parameter over those pairs",
                _mean_where(lambda rows, j=j: np.where(rows.same_crystal_system, rows.abs_errors("niggli")[:, j], NAN)),
                lambda rows: int((rows.same_crystal_system & rows.pairs("niggli")).sum()),
                ("lattice_reduction", "symprec"),
                population=lambda rows: rows.same_crystal_system & rows.pairs("niggli"),
            )
        )
    for j, p in enumerate(LATTICE_PARAMS):
        out.append(
            Metric(
                f"mae_raw_packaged.{p}",
                f"raw-cell MAE {SYMBOL[p]}, as packaged (placeholders included)",
                UNITS[p],
                "all test ids; a row without a parsed prediction counts with the placeholder cell "
                "(1 Å, 90°) that `package --fill-failures` writes",
                LOWER,
                "mean |pred − target| of the unreduced jarvis parameter, what the leaderboard's lattice file scores",
                _mean_where(
                    lambda rows, j=j: np.abs(rows.raw_pred_packaged[:, j] - rows.raw_target[:, j]),
                ),
                lambda rows: int(np.isfinite(rows.raw_target).all(axis=1).sum()),
                compare=False,
            )
        )
    return out


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


def _sample_metrics() -> list[Metric]:
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


REGISTRY: dict[str, Metric] = {m.name: m for m in _metrics() + _sample_metrics()}


def get(name: str) -> Metric:
    """The registry entry ``name`` (``KeyError`` naming the known metrics otherwise)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(REGISTRY)}") from None


def families() -> list[str]:
    """Top-level metrics.json keys of the registry, in order."""
    return list(dict.fromkeys(m.family for m in REGISTRY.values()))


def family(name: str) -> list[Metric]:
    """The metrics of one family, in registry order."""
    return [m for m in REGISTRY.values() if m.family == name]


def lookup(doc: dict, name: str):
    """The number of metric ``name`` in a metrics.json document (``None`` when absent or null)."""
    node = doc
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node.get("value") if isinstance(node, dict) else node


def entry(doc: dict, name: str) -> dict:
    """The metrics.json dict holding metric ``name`` (its value, n, ci95, ...); ``{}`` when absent."""
    node = doc
    for part in name.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def markdown_table() -> str:
    """The registry as the Markdown table of docs/metrics.md ("Metric registry")."""
    lines = ["| name | label | unit | better | denominator |", "|---|---|---|---|---|"]
    for m in REGISTRY.values():
        flags = " (legacy)" if m.legacy and "legacy" not in m.label else ""
        lines.append(f"| `{m.name}` | {m.label}{flags} | {m.unit} | {m.direction} | {m.denominator} |")
    return "\n".join(lines) + "\n"


def summary_line(doc: dict) -> str:
    """One line of the ccRMSD, validity and symmetry numbers of a metrics.json (``evaluate``'s summary)."""

    def num(name: str, digits: int = 3) -> str:
        value = lookup(doc, name)
        return "n/a" if value is None else f"{value:.{digits}f}"

    return (
        f"ccRMSD {num('ccrmsd', 4)} Å; valid (structure and composition) {num('validity.both')} "
        f"(targets {num('validity_target.both')}); same space group {num('symmetry.spacegroup')}, "
        f"same crystal system {num('symmetry.crystal_system')} (over all {doc['n_total']} test ids)"
    )


def samples_line(doc: dict) -> str:
    """One line of the multi-sample numbers of a metrics.json (runs with K > 1 samples per id)."""
    s = doc["samples"]
    at_k, best, single = s["match_at_k"], s["best_of_k_rmse"], s["single_sample_match_rate"]
    distinct = s.get("distinct_fraction")
    shown = {"1", "2", "3", "5", "10", "20", "50", "100", str(at_k["k"])}  # a long curve is in metrics.json
    curve = ", ".join(f"@{k} {v:.3f}" for k, v in at_k["curve"].items() if len(at_k["curve"]) <= 6 or k in shown)
    best_text = "n/a (0 matched)" if best["value"] is None else f"{best['value']:.4f} ({best['n']} ids)"
    return (
        f"{at_k['k']} samples per id: match{curve}; best-of-{at_k['k']} RMSE {best_text}; "
        f"single-sample match rate {single['value']:.3f} ± {single['std']:.3f} (std over samples)"
        + ("" if not distinct or distinct["value"] is None else f"; distinct samples {distinct['value']:.3f}")
    )


def ci_of(doc: dict, name: str) -> list | None:
    """The 95% CI of metric ``name`` in a metrics.json document (``None`` when it has none)."""
    if "." in name and get(name).layout == "rmse" and name.endswith(".match_rate"):
        return (doc.get(get(name).family) or {}).get("match_rate_ci95")  # the RMSE family's own key
    ci = entry(doc, name).get("ci95")
    return None if not ci or None in ci else ci


# --------------------------------------------------------------------------- breakdowns


def breakdowns(rows: Rows, records, strata: dict[str, str] | None = None) -> dict[str, dict]:
    """Tables of metrics.json beside the registry values (:data:`BREAKDOWN_KEYS`).

    ``strata`` (``{test id: stratum}``, :func:`atomgenbench.benchmarks.atomgen.strata.strata`)
    adds ``by_stratum``; without it that table is left out.
    """
    parsed = np.flatnonzero(rows.parsed)
    table = confusion(list(rows.crystal_system[parsed]), list(rows.crystal_system_pred[parsed]))
    out = {"by_crystal_system": by_crystal_system(rows)}
    if strata is not None:
        out["by_stratum"] = by_stratum(rows, strata)
    out.update({"crystal_system_confusion": table, "notes": row_notes(records)})
    return out


def row_notes(records) -> dict[str, str]:
    """``{id: note}`` of rows with an invalid structure or a per-row analysis that failed or timed out."""
    out = {}
    for r in records:
        parts = [x for x in (r.validity_note, r.metric_note) if x]
        if parts:
            out[r.id] = "; ".join(parts)
    return out


def by_crystal_system(rows: Rows) -> dict[str, dict]:
    """Match rate, RMSE and Niggli MAE per crystal system of the target."""
    out = {}
    for system in sorted(set(rows.crystal_system)):
        idx = np.flatnonzero(rows.crystal_system == system)[None, :]

        def value(name: str, idx=idx) -> float:
            return float(get(name).statistic(rows, idx)[0])

        out[str(system)] = {
            "n": int(idx.size),
            "n_parsed": int(rows.pairs("niggli")[idx].sum()),
            "n_matched": int(np.isfinite(rows.rms[idx]).sum()),
            "match_rate": value("rmse.match_rate"),
            "rmse": _nan_none(value("rmse")),
            "rmse_penalised": value("rmse.penalised"),
            "mae": {p: _nan_none(value(f"mae.{p}")) for p in LATTICE_PARAMS},
        }
    return out


def by_stratum(rows: Rows, strata: dict[str, str]) -> dict[str, dict]:
    """Registry statistics per leakage stratum (twin, seen-formula, unseen; docs/metrics.md).

    Every stratum is listed, an empty one with ``n`` 0 and ``null`` values; a row whose id has
    no stratum (not expected) falls in ``unknown``.
    """
    from atomgenbench.benchmarks.atomgen.strata import STRATA

    labels = np.array([strata.get(i, "unknown") for i in rows.ids], object)
    names = list(STRATA) + sorted(set(labels) - set(STRATA))
    return {name: _group_statistics(rows, np.flatnonzero(labels == name)) for name in names}


#: registry metrics of each ``by_stratum`` group, by the key they have there
STRATUM_METRICS = {
    "match_rate": "rmse.match_rate",
    "rmse": "rmse",
    "rmse_penalised": "rmse.penalised",
    "ccrmsd": "ccrmsd",
    **{f"mae.{p}": f"mae.{p}" for p in LATTICE_PARAMS},
    **{f"validity.{k}": f"validity.{k}" for k in ("structural", "composition", "both")},
    **{f"validity_target.{k}": f"validity_target.{k}" for k in ("structural", "composition", "both")},
    **{f"symmetry.{k}": f"symmetry.{k}" for k in ("spacegroup", "crystal_system")},
}


def _group_statistics(rows: Rows, members: np.ndarray) -> dict:
    """Counts and :data:`STRATUM_METRICS` of the rows ``members`` (``null`` where undefined)."""
    idx = members[None, :]
    out: dict = {
        "n": int(members.size),
        "n_parsed": int(rows.parsed[members].sum()),
        "n_matched": int(np.isfinite(rows.rms[members]).sum()),
    }
    for key, name in STRATUM_METRICS.items():
        value = _nan_none(float(get(name).statistic(rows, idx)[0])) if members.size else None
        head, _, sub = key.partition(".")
        if sub:
            out.setdefault(head, {})[sub] = value
        else:
            out[key] = value
    for m in family("samples"):  # runs with K > 1 samples per id: the multi-sample metrics per group too
        if m.applies is None or m.applies(rows):
            value = _nan_none(float(m.statistic(rows, idx)[0])) if members.size else None
            out.setdefault("samples", {"k": rows.k})[m.key] = value
    return out


def _nan_none(x: float):
    return None if not np.isfinite(x) else float(x)

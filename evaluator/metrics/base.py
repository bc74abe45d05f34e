"""The metric type, the per-row arrays it is computed from, and the statistics its entries share.

Each :class:`Metric` is a typed record: its ``name`` is where it sits in ``metrics.json``
(``"mae.a"`` is ``metrics["mae"]["a"]``; a dict there holds it under ``"value"``), with a
label, unit, denominator, direction, formula text, the settings it depends on, and the
function that computes it from the per-row arrays of :class:`Rows`.

Statistics are vectorised: ``metric.statistic(rows, idx)`` takes an ``(n_resamples, n)``
array of row indices and returns one value per resample, so the point value (``idx`` =
every row once), the bootstrap CIs of ``evaluate`` and the paired bootstrap of ``compare``
all call the same function. The entries themselves are defined by family in
:mod:`.reconstruction`, :mod:`.quality` and :mod:`.samples`, and gathered in :mod:`.registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

import numpy as np

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.evaluator.scoring import stats
from atomgenbench.evaluator.scoring.ccrmsd import LEGACY_TAU
from atomgenbench.evaluator.scoring.lattice import PLACEHOLDER_RAW, as_array
from atomgenbench.evaluator.scoring.symmetry import CRYSTAL_SYSTEMS


class Direction(str, Enum):
    """Which way a metric is better."""

    LOWER = "lower"
    HIGHER = "higher"

    def __str__(self) -> str:  # "lower", not "Direction.LOWER", in tables and f-strings (Python >= 3.11)
        return self.value


class Layout(str, Enum):
    """How a metric sits in metrics.json: its own value dict, or part of the RMSE family's layout."""

    VALUE = "value"
    RMSE = "rmse"


LOWER, HIGHER = Direction.LOWER, Direction.HIGHER
RMS_UNIT = "dimensionless (fraction of (V/N)^(1/3))"
#: the settings every matcher-based metric depends on
MATCHER_SETTINGS = ("matcher",)
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
    direction: Direction
    formula: str
    statistic: Statistic  # (rows, (B, n) indices) -> (B,) values
    count: Callable[[Rows], int]  # the ``n`` written next to the value
    settings: tuple[str, ...] = ()  # keys of metrics.json["settings"] the value depends on
    population: Callable[[Rows], np.ndarray] | None = None  # rows its CI resamples (None: all test ids)
    extra: Callable[[Rows], dict] | None = None  # more fields of its metrics.json entry
    info: dict = field(default_factory=dict)  # fixed fields of its metrics.json entry
    layout: Layout = Layout.VALUE
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

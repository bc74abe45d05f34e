"""Typed evaluation results and the ``metrics.json`` schema (documented in docs/metrics.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import metadata

from atomgenbench.evaluator.matching import PairRecord

SCHEMA_VERSION = 1


@dataclass
class Value:
    """One number with its sample size, denominator and (optional) bootstrap 95% CI."""

    value: float
    n: int
    denominator: str
    ci95: list[float] | None = None
    units: str | None = None
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {
            "value": _num(self.value),
            "n": self.n,
            "denominator": self.denominator,
            "ci95": None if self.ci95 is None else [_num(x) for x in self.ci95],
        }
        if self.units:
            out["units"] = self.units
        out.update(self.extra)
        return out


@dataclass
class RmseValue:
    """Matched-only RMS (leaderboard style) with match rate and the penalised variant."""

    function: str  # get_rms_dist | get_rms_anonymous
    value: float  # mean over matched ids
    n_matched: int
    n_total: int
    ci95: list[float] | None
    match_rate_ci95: list[float] | None
    penalised: float  # unmatched ids counted as stol
    penalised_ci95: list[float] | None
    tolerances: dict

    @property
    def match_rate(self) -> float:
        return self.n_matched / self.n_total if self.n_total else float("nan")

    def to_json(self) -> dict:
        return {
            "value": _num(self.value),
            "leaderboard_value": _num(round(self.value, 4)) if math.isfinite(self.value) else None,
            "n_matched": self.n_matched,
            "n_total": self.n_total,
            "match_rate": _num(self.match_rate),
            "denominator": "matched ids (mean); all test ids (match_rate)",
            "ci95": _list(self.ci95),
            "match_rate_ci95": _list(self.match_rate_ci95),
            "penalised": {
                "value": _num(self.penalised),
                "n": self.n_total,
                "fill": self.tolerances["stol"],
                "denominator": "all test ids, unmatched counted as stol",
                "ci95": _list(self.penalised_ci95),
            },
            "function": self.function,
            "units": "dimensionless (fraction of (V/N)^(1/3))",
            "tolerances": self.tolerances,
        }


@dataclass
class EvaluationResult:
    """Full evaluation of one model on one structure benchmark."""

    benchmark: str
    model: str
    n_total: int
    n_predicted: int
    n_parsed: int
    rmse: RmseValue
    rmse_anonymous: RmseValue
    mae: dict[str, Value]
    mae_raw: dict[str, Value]
    kld: dict[str, Value]
    kld_paired: dict[str, Value]
    by_crystal_system: dict[str, dict]
    failures: dict[str, str]
    settings: dict
    records: list[PairRecord] = field(default_factory=list, repr=False)

    def to_json(self) -> dict:
        """The ``metrics.json`` document."""
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "structure",
            "benchmark": self.benchmark,
            "model": self.model,
            "n_total": self.n_total,
            "n_predicted": self.n_predicted,
            "n_parsed": self.n_parsed,
            "rmse": self.rmse.to_json(),
            "rmse_anonymous": self.rmse_anonymous.to_json(),
            "mae": {k: v.to_json() for k, v in self.mae.items()},
            "mae_raw": {k: v.to_json() for k, v in self.mae_raw.items()},
            "kld": {k: v.to_json() for k, v in self.kld.items()},
            "kld_paired": {k: v.to_json() for k, v in self.kld_paired.items()},
            "by_crystal_system": self.by_crystal_system,
            "settings": self.settings,
            "versions": versions(),
            "failures": dict(sorted(self.failures.items())),
        }


def float_result_json(score, settings: dict | None = None) -> dict:
    """``metrics.json`` for a lattice-parameter (float) benchmark from a LeaderboardScore."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "float",
        "benchmark": score.benchmark,
        "n_total": score.n_total,
        "mae": {
            "value": _num(score.value),
            "leaderboard_value": _num(score.value),
            "n": score.n_scored,
            "denominator": "ids present in both file and test split",
        },
        "settings": settings or {},
        "versions": versions(),
        "failures": dict(sorted(score.failures.items())),
    }


def versions() -> dict[str, str | None]:
    """Versions of the toolkit and the libraries whose behaviour the numbers depend on."""
    out = {}
    for dist in ("atomgenbench", "pymatgen", "jarvis-tools", "numpy", "scipy", "spglib"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _num(x) -> float | None:
    """JSON-safe float: NaN/inf become ``null``."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _list(xs):
    return None if xs is None else [_num(x) for x in xs]

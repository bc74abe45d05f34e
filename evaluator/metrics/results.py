"""Typed evaluation results and the ``metrics.json`` schema (documented in docs/metrics.md)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from atomgenbench.core.numbers import finite_or_none
from atomgenbench.core.versions import environment_versions
from atomgenbench.evaluator.metrics import registry as metrics
from atomgenbench.evaluator.scoring.matching import PairRecord

SCHEMA_VERSION = 1
#: version of :meth:`EvaluationResult.to_state` (result.json)
STATE_VERSION = 2
#: the PairRecord fields that are tuples (JSON gives lists back)
_TUPLE_FIELDS = frozenset(f.name for f in fields(PairRecord) if "tuple" in str(f.type))


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
            "value": finite_or_none(self.value),
            "n": self.n,
            "denominator": self.denominator,
            "ci95": None if self.ci95 is None else [finite_or_none(x) for x in self.ci95],
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

    @classmethod
    def from_values(cls, family: str, values: dict[str, Value], settings: dict) -> RmseValue:
        """The RMSE family ``family`` (``rmse``/``rmse_anonymous``) from its three registry values."""
        matcher = settings["matcher"]
        mean, rate, pen = values[family], values[f"{family}.match_rate"], values[f"{family}.penalised"]
        return cls(
            function=metrics.get(family).info["function"],
            value=mean.value,
            n_matched=mean.n,
            n_total=rate.n,
            ci95=mean.ci95,
            match_rate_ci95=rate.ci95,
            penalised=pen.value,
            penalised_ci95=pen.ci95,
            tolerances={k: matcher[k] for k in ("ltol", "stol", "angle_tol")},
        )

    def to_json(self) -> dict:
        mean, rate, pen = (metrics.get(name) for name in self._names())
        return {
            "value": finite_or_none(self.value),
            "leaderboard_value": finite_or_none(round(self.value, 4)) if math.isfinite(self.value) else None,
            "n_matched": self.n_matched,
            "n_total": self.n_total,
            "match_rate": finite_or_none(self.match_rate),
            "denominator": f"{mean.denominator} (mean); {rate.denominator} (match_rate)",
            "ci95": _list(self.ci95),
            "match_rate_ci95": _list(self.match_rate_ci95),
            "penalised": {
                "value": finite_or_none(self.penalised),
                "n": self.n_total,
                "fill": self.tolerances["stol"],
                "denominator": pen.denominator,
                "ci95": _list(self.penalised_ci95),
            },
            "function": self.function,
            "units": mean.unit,
            "tolerances": self.tolerances,
        }

    def _names(self) -> tuple[str, str, str]:
        family = "rmse" if self.function == "get_rms_dist" else "rmse_anonymous"
        return family, f"{family}.match_rate", f"{family}.penalised"


@dataclass
class EvaluationResult:
    """Full evaluation of one model on one structure benchmark.

    ``values`` holds every registry metric (:mod:`atomgenbench.evaluator.metrics.registry`) by name;
    :meth:`to_json` lays them out as ``metrics.json``.
    """

    benchmark: str
    model: str
    n_total: int
    n_predicted: int
    n_parsed: int
    values: dict[str, Value]
    breakdowns: dict[str, dict]
    failures: dict[str, str]
    settings: dict
    records: list[PairRecord] = field(default_factory=list, repr=False)

    @property
    def rmse(self) -> RmseValue:
        """The leaderboard RMSE with its match rate."""
        return RmseValue.from_values("rmse", self.values, self.settings)

    def family_json(self, family: str):
        """The metrics.json entry of one registry family."""
        members = [m for m in metrics.family(family) if m.name in self.values]
        if members[0].layout == "rmse":
            return RmseValue.from_values(family, self.values, self.settings).to_json()
        if len(members) == 1 and members[0].key is None:
            return self.values[family].to_json()
        return {m.key: self.values[m.name].to_json() for m in members}

    def to_state(self) -> dict:
        """The whole result, per-id records included, as plain JSON data: the one serialisation of a result.

        :meth:`metrics.json <to_json>` is a view of it for people; this is what a later step
        (``compare``, ``reproduce``'s compare stage) reads back with :meth:`from_state`.
        It is strict JSON: a non-finite float is written as ``{"__float__": "nan"}``.
        """
        doc = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("values", "records")}
        doc["values"] = {name: asdict(v) for name, v in self.values.items()}
        doc["records"] = [asdict(r) for r in self.records]
        return _tag_floats({"state_version": STATE_VERSION, **doc})

    @classmethod
    def from_state(cls, doc: dict) -> EvaluationResult:
        """Rebuild a result written by :meth:`to_state` (a ``ValueError`` for anything else)."""
        if not isinstance(doc, dict) or doc.get("state_version") != STATE_VERSION:
            raise ValueError(f"not an atomgenbench evaluation result (state_version {STATE_VERSION})")
        doc = _untag_floats(doc)
        names = {f.name for f in fields(cls)} - {"values", "records"}
        values = {name: Value(**v) for name, v in doc["values"].items()}
        records = [
            PairRecord(**{k: tuple(v) if k in _TUPLE_FIELDS and v is not None else v for k, v in r.items()})
            for r in doc["records"]
        ]
        return cls(**{k: doc[k] for k in names}, values=values, records=records)

    def to_json(self) -> dict:
        """The ``metrics.json`` document."""
        out = {
            "schema_version": SCHEMA_VERSION,
            "kind": "structure",
            "benchmark": self.benchmark,
            "model": self.model,
            "n_total": self.n_total,
            "n_predicted": self.n_predicted,
            "n_parsed": self.n_parsed,
        }
        out.update(
            {
                family: self.family_json(family)
                for family in metrics.families()
                if any(m.name in self.values for m in metrics.family(family))
            }
        )
        out.update(self.breakdowns)
        out.update({"settings": self.settings, "versions": versions(), "failures": dict(sorted(self.failures.items()))})
        return out


def with_strata(breakdowns: dict, benchmark: str, rows: metrics.Rows) -> dict:
    """``breakdowns`` with ``by_stratum`` (leakage strata of ``benchmark``) added, in :data:`BREAKDOWN_KEYS` order.

    Called by the evaluation step; building an :class:`EvaluationResult` computes nothing.
    """
    from atomgenbench.benchmarks.atomgen.strata import strata
    from atomgenbench.evaluator.metrics.breakdowns import by_stratum

    table = by_stratum(rows, strata(benchmark))
    out = {**breakdowns, "by_stratum": table}
    order = {k: i for i, k in enumerate(metrics.BREAKDOWN_KEYS)}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))


def float_result_json(score, settings: dict | None = None) -> dict:
    """``metrics.json`` for a lattice-parameter (float) benchmark from a LeaderboardScore."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "float",
        "benchmark": score.benchmark,
        "n_total": score.n_total,
        "mae": {
            "value": finite_or_none(score.value),
            "leaderboard_value": finite_or_none(score.value),
            "n": score.n_scored,
            "denominator": "ids present in both file and test split",
        },
        "settings": settings or {},
        "versions": versions(),
        "failures": dict(sorted(score.failures.items())),
    }


def versions() -> dict[str, str | None]:
    """Versions of the toolkit, python, the libraries the numbers depend on, and the leaderboard revision."""
    return environment_versions()


def _list(xs):
    return None if xs is None else [finite_or_none(x) for x in xs]


def _tag_floats(obj):
    """``obj`` with every non-finite float replaced by ``{"__float__": repr}`` (strict JSON)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": repr(obj)}
    if isinstance(obj, dict):
        return {k: _tag_floats(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_tag_floats(v) for v in obj]
    return obj


def _untag_floats(obj):
    """The inverse of :func:`_tag_floats` (tuples come back as lists)."""
    if isinstance(obj, dict):
        if set(obj) == {"__float__"}:
            return float(obj["__float__"])
        return {k: _untag_floats(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_untag_floats(v) for v in obj]
    return obj

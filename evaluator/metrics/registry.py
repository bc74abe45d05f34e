"""The metric registry: every number ``evaluate`` and ``compare`` report, defined once.

:data:`REGISTRY` gathers the entries of each family (:mod:`.reconstruction`, :mod:`.quality`,
:mod:`.samples`; the type is :class:`~.base.Metric`). Adding a metric means adding one entry to
its family (and its line in docs/metrics.md, which a test checks); this module also reads
metrics out of a metrics.json document.
"""

from __future__ import annotations

from atomgenbench.evaluator.metrics.base import (  # noqa: F401  (the registry's vocabulary, used with it)
    BREAKDOWN_KEYS,
    HIGHER,
    LOWER,
    META_KEYS,
    SYMBOL,
    TRAILER_KEYS,
    Direction,
    Layout,
    Metric,
    Rows,
)
from atomgenbench.evaluator.metrics.quality import quality_metrics
from atomgenbench.evaluator.metrics.reconstruction import reconstruction_metrics
from atomgenbench.evaluator.metrics.samples import sample_metrics

REGISTRY: dict[str, Metric] = {m.name: m for m in reconstruction_metrics() + quality_metrics() + sample_metrics()}


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


def ci_of(doc: dict, name: str) -> list | None:
    """The 95% CI of metric ``name`` in a metrics.json document (``None`` when it has none)."""
    if "." in name and get(name).layout == "rmse" and name.endswith(".match_rate"):
        return (doc.get(get(name).family) or {}).get("match_rate_ci95")  # the RMSE family's own key
    ci = entry(doc, name).get("ci95")
    return None if not ci or None in ci else ci

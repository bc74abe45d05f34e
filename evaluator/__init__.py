"""Scoring of AtomGen predictions: leaderboard-exact numbers and the AtomBench paper's metrics.

Public API (imported lazily so ``import evaluator`` stays cheap):

* :func:`evaluator.inputs.load_predictions` - any input format -> ``Predictions``
* :func:`evaluator.pipeline.evaluate` - full metrics of a structure benchmark
* :func:`evaluator.leaderboard.score_leaderboard_file` - what the leaderboard shows
"""

from __future__ import annotations

_EXPORTS = {
    "load_predictions": "evaluator.inputs",
    "InputError": "evaluator.inputs",
    "evaluate": "evaluator.pipeline",
    "EvaluationResult": "evaluator.results",
    "LeaderboardScore": "evaluator.leaderboard",
    "score_leaderboard_file": "evaluator.leaderboard",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'evaluator' has no attribute {name!r}")

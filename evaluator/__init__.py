"""Scoring of AtomGen predictions: leaderboard-exact numbers and the AtomBench paper's metrics.

Public API (imported lazily so ``import evaluator`` stays cheap):

* :func:`atomgenbench.evaluator.inputs.load.load_predictions` - any input format -> ``Predictions``
* :func:`atomgenbench.evaluator.metrics.evaluate.evaluate` - full metrics of a structure benchmark
* :func:`atomgenbench.evaluator.leaderboard.score.score_leaderboard_file` - what the leaderboard shows
"""

from __future__ import annotations

_EXPORTS = {
    "load_predictions": "atomgenbench.evaluator.inputs.load",
    "InputError": "atomgenbench.evaluator.inputs.load",
    "evaluate": "atomgenbench.evaluator.metrics.evaluate",
    "EvaluationResult": "atomgenbench.evaluator.metrics.results",
    "LeaderboardScore": "atomgenbench.evaluator.leaderboard.score",
    "score_leaderboard_file": "atomgenbench.evaluator.leaderboard.score",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'evaluator' has no attribute {name!r}")

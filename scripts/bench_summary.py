"""Shared by the model bench scripts: the headline numbers of predictions, from the evaluator.

Match rate is over all test ids (failures count as unmatched), RMSE is the
leaderboard's matched-only mean, MAE is on Niggli-reduced (``mae_*``) and raw
(``raw_mae_*``) cells — the same definitions as ``atomgenbench evaluate``.
"""

from __future__ import annotations

from benchmarks.atomgen.registry import LATTICE_PARAMS


def summarise(preds, benchmark: str, workers: int = 1) -> dict:
    """Headline metrics of ``preds`` on ``benchmark`` via :func:`evaluator.pipeline.evaluate`."""
    from evaluator.pipeline import evaluate

    m = evaluate(preds, benchmark, workers=workers, n_boot=10).to_json()
    out = {"n_total": m["n_total"], "n_parsed": m["n_parsed"], "n_matched": m["rmse"]["n_matched"],
           "match_rate": m["rmse"]["match_rate"], "rmse_matched": m["rmse"]["value"]}
    for p in LATTICE_PARAMS:
        out[f"mae_{p}"] = m["mae"][p]["value"]
        out[f"raw_mae_{p}"] = m["mae_raw"][p]["value"]
    return out

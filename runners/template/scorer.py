"""The learned scorer: gradient boosting on pair features, one template chosen per query.

The classifier (scikit-learn ``HistGradientBoostingClassifier``) estimates the probability that a
substituted template matches; a query's candidates are ordered by that probability, ties by
``nearest``'s rank. Its settings are chosen on a validation split of the *training* queries (a
fixed hash of the id), by the share of validation queries whose first choice matches; the chosen
settings are then refitted on every labelled query. With no labelled query there is no model and
the order is ``nearest``'s.

The model is saved with skops (no pickled code is executed at load time).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

RANK_COLUMN = -4  # "rank" in features.feature_names()


def validation_ids(ids: list[str], fraction: float, seed: int) -> set[str]:
    """A fixed ``fraction`` of ``ids``, chosen by a hash of (seed, id)."""
    return {i for i in ids if zlib.crc32(f"{seed}:{i}".encode()) % 1000 < fraction * 1000}


def make_model(settings: dict, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        learning_rate=settings["learning_rate"],
        max_iter=settings["max_iter"],
        max_leaf_nodes=settings["max_leaf_nodes"],
        min_samples_leaf=settings["min_samples_leaf"],
        l2_regularization=settings["l2_regularization"],
        early_stopping=False,
        random_state=seed,
    )


def order(scores: np.ndarray, ranks: np.ndarray) -> list[int]:
    """Candidate indices best first: higher score, then nearest's rank."""
    return sorted(range(len(ranks)), key=lambda i: (-round(float(scores[i]), 9), ranks[i]))


def top1_rate(model, groups: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Share of queries whose best-scored candidate matches (``groups``: per query, features and labels)."""
    if not groups:
        return float("nan")
    hits = 0
    for x, y in groups:
        scores = model.predict_proba(x)[:, 1] if model is not None else np.zeros(len(y))
        hits += int(y[order(scores, x[:, RANK_COLUMN])[0]])
    return hits / len(groups)


def fit_scorer(groups: dict[str, tuple], grid: list[dict], val_fraction: float, seed: int):
    """(model or None, chosen settings, validation report) from per-query (features, labels, template ids).

    While settings are compared, the fitting rows leave out every pair whose template is a validation
    query: a test crystal is never a template, and the pair (t as query, q as template) has nearly the
    label of (q, t), which a model could otherwise remember.
    """
    ids = [q for q, (x, y, _) in groups.items() if len(y)]
    if not ids:
        return None, None, {"queries": 0}
    val = validation_ids(ids, val_fraction, seed)
    train = [q for q in ids if q not in val]
    report: dict = {"queries": len(ids), "validation_queries": len(val), "nearest_rule": None, "grid": []}
    best = grid[0]
    if len(grid) > 1 and val and train:
        val_groups = [groups[q][:2] for q in sorted(val)]
        report["nearest_rule"] = round(top1_rate(None, val_groups), 4)
        x, y = _stack(groups, train, drop=val)
        best_rate = -1.0
        for settings in grid:
            model = make_model(settings, seed).fit(x, y) if len(set(y)) > 1 else None
            rate = top1_rate(model, val_groups)
            report["grid"].append({**settings, "validation_top1": round(rate, 4)})
            if rate > best_rate:
                best, best_rate = settings, rate
    x, y = _stack(groups, ids)
    if len(set(y)) < 2:  # every label equal: nothing to learn, keep nearest's order
        return None, best, report
    return make_model(best, seed).fit(x, y), best, report


def _stack(groups: dict, ids: list[str], drop: set[str] = frozenset()) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the queries ``ids``, without those whose template is in ``drop``."""
    keep = [np.array([t not in drop for t in groups[q][2]], dtype=bool) for q in ids]
    x = np.vstack([groups[q][0][k] for q, k in zip(ids, keep)])
    return x, np.concatenate([groups[q][1][k] for q, k in zip(ids, keep)]).astype(int)


def save(model, path: Path) -> None:
    import skops.io as sio

    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, path)


def load(path: Path):
    import skops.io as sio

    trusted = sio.get_untrusted_types(file=path)
    allowed = [t for t in trusted if t.startswith(("sklearn.", "numpy."))]
    unknown = sorted(set(trusted) - set(allowed))
    if unknown:
        raise ValueError(f"{path}: the model file holds types that are not scikit-learn's or NumPy's: {unknown}")
    return sio.load(path, trusted=allowed)

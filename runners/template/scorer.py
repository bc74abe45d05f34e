"""The learned scorer: gradient boosting on pair features, one template chosen per query.

The classifier (scikit-learn ``HistGradientBoostingClassifier``) estimates the probability that a
substituted template matches; a query's candidates are ordered by that probability, ties by
``nearest``'s rank. Its settings are chosen on a validation split of the *training* queries (a
fixed hash of the id), by the share of validation queries whose first choice matches; the chosen
settings are then refitted on every labelled query. With no labelled query there is no model and
the order is ``nearest``'s.

The *gate* (:mod:`.holdout`) says, per kind of query, whether the learned order or ``nearest``'s
rule picks the template: ``seen`` queries have a candidate of their own composition (a training
crystal with the same formula), ``unseen`` ones do not. It is chosen on held-out training crystals.

The model is saved with skops (no pickled code is executed at load time).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

RANK_COLUMN = -4  # "rank" in features.feature_names()
IDENTICAL_COLUMN = -1  # "identical": the candidate has the query's own composition
#: the learned order everywhere (checkpoints made before the gate existed)
NO_GATE = {"seen": "scorer", "unseen": "scorer"}


def kind(x: np.ndarray) -> str:
    """``seen`` when one of a query's candidates has the query's composition, else ``unseen``."""
    return "seen" if len(x) and bool((x[:, IDENTICAL_COLUMN] == 1).any()) else "unseen"


#: what the gate may choose per kind of query: nearest's order, the model's, or the model's first
#: choice followed by nearest's order (samples 1, 2, ... as nearest ranks the rest)
MODES = ("nearest", "scorer", "scorer-first")


def ranked(model, gate: dict[str, str], x: np.ndarray) -> list[int]:
    """A query's candidate indices, best first, in the order the gate picks for its kind (:data:`MODES`)."""
    mode = gate.get(kind(x), "scorer") if model is not None else "nearest"
    rule = order(np.zeros(len(x)), x[:, RANK_COLUMN])
    if mode == "nearest":
        return rule
    learned = order(model.predict_proba(x)[:, 1], x[:, RANK_COLUMN])
    if mode == "scorer":
        return learned
    return [learned[0]] + [i for i in rule if i != learned[0]]


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
    """(model or None, chosen settings, validation report, model of the chosen settings fitted
    without the validation queries or None), from per-query (features, labels, template ids).

    While settings are compared, the fitting rows leave out every pair whose template is a validation
    query: a test crystal is never a template, and the pair (t as query, q as template) has nearly the
    label of (q, t), which a model could otherwise remember.
    """
    ids = [q for q, (x, y, _) in groups.items() if len(y)]
    if not ids:
        return None, None, {"queries": 0}, None
    val = validation_ids(ids, val_fraction, seed)
    train = [q for q in ids if q not in val]
    report: dict = {"queries": len(ids), "validation_queries": len(val), "nearest_rule": None, "grid": []}
    best, best_model = grid[0], None
    if val and train:
        val_groups = [groups[q][:2] for q in sorted(val)]
        report["nearest_rule"] = round(top1_rate(None, val_groups), 4)
        x, y = _stack(groups, train, drop=val)
        best_rate = -1.0
        for settings in grid:
            model = make_model(settings, seed).fit(x, y) if len(set(y)) > 1 else None
            rate = top1_rate(model, val_groups)
            report["grid"].append({**settings, "validation_top1": round(rate, 4)})
            if rate > best_rate:
                best, best_rate, best_model = settings, rate, model
    x, y = _stack(groups, ids)
    if len(set(y)) < 2:  # every label equal: nothing to learn, keep nearest's order
        return None, best, report, None
    return make_model(best, seed).fit(x, y), best, report, best_model


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

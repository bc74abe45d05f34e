"""The gate: where the learned order beats ``nearest``'s rule, judged on held-out training crystals.

Leave-one-out validation (:func:`.scorer.fit_scorer`) offers each validation crystal the rest of the
training split, so its candidates are drawn from a pool that still holds every other validation
crystal. A test crystal meets a pool without any test crystal in it, and the learned order gained far
less there than leave-one-out promised (docs/results.md, "Template runner"). This module makes the
test's situation out of the training split alone:

- the validation crystals leave the candidate pool altogether (:class:`CandidateIndex` over the rest);
- each of them gets its candidates from that smaller pool, labelled like the training labels (a
  pair already labelled leave-one-out keeps its label, the others are matched here);
- the model of the chosen settings fitted without the validation crystals orders them, and so does
  ``nearest``'s rule.

Per kind of query (:func:`.scorer.kind`: ``seen`` when a candidate has the query's own formula,
``unseen`` otherwise) the gate keeps the learned order only where it picked a matching template for
more held-out crystals than the rule did; a tie goes to the rule.
"""

from __future__ import annotations

import numpy as np

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.runners.baselines.common import cell_counts
from atomgenbench.runners.template import labels as labels_mod
from atomgenbench.runners.template import scorer
from atomgenbench.runners.template.candidates import CandidateIndex
from atomgenbench.runners.template.features import pair_features

KINDS = ("seen", "unseen")


def held_out_groups(
    data: BenchmarkData, labels: dict[str, list], held: set[str], k: int, templates_of, volumes, workers: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per held-out query: (pair features of its candidates from the pool without ``held``, 0/1 labels).

    ``templates_of(index, labels)`` gives the template descriptors (a ``TemplateCounts`` view) for the
    smaller pool and the labels of the kept queries only.
    """
    from atomgenbench.core.executors import Executor

    keep = [i for i in data.train_ids if i not in held]
    index = CandidateIndex(data, train_ids=keep)
    kept_labels = {q: [[t, y] for t, y in v if t not in held] for q, v in labels.items() if q not in held}
    templates = templates_of(index, kept_labels)
    queries = [q for q in sorted(held) if q in labels]
    cands, known, tasks = {}, {}, []
    for q in queries:
        test = cell_counts(data.structure(q))
        cands[q] = index.ranked(test, k)
        known[q] = {t: y for t, y in labels[q]}
        missing = [c for c in cands[q] if c.template_id not in known[q]]
        if missing:
            tasks.append((q, data.structure(q), [index.substituted(test, c) for c in missing], missing))
    found = Executor.create("process", workers, progress=False).map(
        labels_mod._label_query,
        [(query, preds, labels_mod.DEFAULT_MATCHER) for _, query, preds, _ in tasks],
        desc="held-out labels",
    )
    for (q, _, _, missing), ys in zip(tasks, found):
        known[q].update({c.template_id: int(y) for c, y in zip(missing, ys)})
    groups = {}
    for q in queries:
        if cands[q]:
            x = pair_features(cell_counts(data.structure(q)), cands[q], templates, volumes)
            groups[q] = (x, np.array([known[q][c.template_id] for c in cands[q]], dtype=int))
    return groups


def choose_gate(model, groups: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[dict[str, str], dict]:
    """(gate, report): per kind, the order of :data:`.scorer.MODES` that did best on the held-out crystals.

    The model's first choice must match more often than the rule's, else the rule stays (ties too).
    Where it does, the rest of the order (samples 1, 2, ...) is the model's or nearest's, whichever
    put a matching template among the first :data:`TOP` more often (a tie keeps nearest's).
    """
    report: dict = {"queries": len(groups)}
    gate = {}
    for name in KINDS:
        mine = [g for g in groups.values() if scorer.kind(g[0]) == name]
        hits = {mode: _hits(model, mode, name, mine) for mode in scorer.MODES} if model else {}
        rule = _hits(None, "nearest", name, mine)
        chosen = "nearest"
        if model and hits["scorer"][0] > rule[0]:
            chosen = "scorer" if hits["scorer"][1] > hits["scorer-first"][1] else "scorer-first"
        gate[name] = chosen
        report[name] = {
            "queries": len(mine),
            "nearest_rule": rule[0],
            "scorer": hits["scorer"][0] if model else rule[0],
            f"nearest_rule@{TOP}": rule[1],
            f"scorer@{TOP}": hits["scorer"][1] if model else rule[1],
            f"scorer-first@{TOP}": hits["scorer-first"][1] if model else rule[1],
            "chosen": chosen,
        }
    return gate, report


#: the depth at which the orders behind the first choice are compared (match@5)
TOP = 5


def _hits(model, mode: str, name: str, groups: list[tuple[np.ndarray, np.ndarray]]) -> tuple[int, int]:
    """(first choices that match, queries with a match among the first :data:`TOP`) under one order."""
    at1 = at_top = 0
    for x, y in groups:
        ranked = scorer.ranked(model, {name: mode}, x)
        at1 += int(y[ranked[0]])
        at_top += int(y[ranked[:TOP]].any())
    return at1, at_top

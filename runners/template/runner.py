"""``template``: learned template selection among ``nearest``'s candidate prototypes.

For a test composition the runner takes ``nearest``'s ``candidates`` best prototypes (same atom
count, same stoichiometry pattern first, ranked by nearest's Mendeleev-number cost), scores each
(composition, template) pair with a gradient-boosting classifier trained on leave-one-out labels of
the training split (:mod:`.labels`), and substitutes the query's species into the best-scored
template with nearest's species map and element-volume scaling. A gate chosen on held-out training
crystals (:mod:`.holdout`) keeps nearest's order for the kind of query (formula seen in training or
not) where the learned order did not do better. Sample ``s`` of ``--samples K`` is
the ``(s+1)``-th best-scored template. With no labelled training query (``label_queries: 0``) the
order is nearest's, and the predictions are nearest's.

Among the features: whether a candidate would rebuild a training crystal of the query's own
composition (:mod:`.polymorphs`), since a test crystal whose composition is in training is another
polymorph of it.

Checkpoint: ``work/template.json`` (settings, element volumes, the training crystals' space groups,
the validation report) and ``work/template_model.skops`` (the classifier; skops, no pickled code).
See docs/runners.md.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from atomgenbench.benchmarks.atomgen.dataset import BenchmarkData
from atomgenbench.core.io import atomic_write_text
from atomgenbench.runners.base import Reconstruction, RunConfig, Runner
from atomgenbench.runners.baselines.common import cell_counts, predict_each, read_checkpoint, write_checkpoint
from atomgenbench.runners.baselines.nearest import element_volumes
from atomgenbench.runners.template import holdout, scorer
from atomgenbench.runners.template import labels as labels_mod
from atomgenbench.runners.template.candidates import CandidateIndex
from atomgenbench.runners.template.features import feature_names, pair_features
from atomgenbench.runners.template.polymorphs import PolymorphTable

MODEL_FILE = "template_model.skops"
LABELS_FILE = "template_labels.json"

_GRID = [
    {"learning_rate": 0.05, "max_iter": 300, "max_leaf_nodes": 31, "min_samples_leaf": 20, "l2_regularization": 1.0},
    {"learning_rate": 0.05, "max_iter": 200, "max_leaf_nodes": 15, "min_samples_leaf": 40, "l2_regularization": 1.0},
    {"learning_rate": 0.1, "max_iter": 150, "max_leaf_nodes": 63, "min_samples_leaf": 20, "l2_regularization": 0.0},
    {"learning_rate": 0.03, "max_iter": 500, "max_leaf_nodes": 31, "min_samples_leaf": 10, "l2_regularization": 3.0},
]

PRESETS: dict[str, dict] = {
    "smoke": {
        "candidates": 6,
        "label_queries": 60,
        "grid": [
            {"learning_rate": 0.1, "max_iter": 20, "max_leaf_nodes": 7, "min_samples_leaf": 5, "l2_regularization": 0.0}
        ],
        "val_fraction": 0.2,
        "gate": True,
        "workers": 2,
    },
    "cpu": {"candidates": 12, "label_queries": -1, "grid": _GRID, "val_fraction": 0.2, "gate": True, "workers": 2},
    "paper": {"candidates": 12, "label_queries": -1, "grid": _GRID, "val_fraction": 0.2, "gate": True, "workers": 2},
}


class TemplateRunner(Runner):
    name = "template"
    conditioning = "composition+train"
    presets = PRESETS
    supports_samples = True  # sample s: the (s+1)-th best-scored template

    def fit(self, data: BenchmarkData, config: RunConfig) -> Path:
        p = config.params
        start = time.perf_counter()
        volumes = element_volumes(data)
        symmetry = labels_mod.spacegroup_table(data, workers=p["workers"])
        queries = labeled_queries(data, p["label_queries"])
        store = labels_mod.compute_labels(data, p["candidates"], workers=p["workers"], ids=queries)
        index = CandidateIndex(data)
        table = PolymorphTable(data)
        groups = training_groups(data, index, {q: store["labels"][q] for q in queries}, symmetry, volumes, table)
        model, settings, report, val_model = scorer.fit_scorer(groups, p["grid"], p["val_fraction"], config.seed)
        gate, gate_report = dict(scorer.NO_GATE), None
        if model is not None and p["gate"]:
            labelled = [q for q in queries if store["labels"][q]]
            held = scorer.validation_ids(labelled, p["val_fraction"], config.seed)
            held_groups = holdout.held_out_groups(
                data,
                {q: store["labels"][q] for q in queries},
                held,
                p["candidates"],
                lambda index, lbls: TemplateCounts(data, index, symmetry, lbls, table).view(None),
                _volume_fn(volumes),
                p["workers"],
            )
            gate, gate_report = holdout.choose_gate(val_model, held_groups)
        table.save()
        model_path = config.work_dir / MODEL_FILE
        if model is not None:
            scorer.save(model, model_path)
        elif model_path.exists():
            model_path.unlink()
        labels_path = config.work_dir / LABELS_FILE
        atomic_write_text(labels_path, json.dumps({q: store["labels"][q] for q in queries}) + "\n")
        payload = {
            "labels_file": LABELS_FILE,
            "element_volumes": volumes,
            "spacegroups": symmetry,
            "candidates": p["candidates"],
            "model": MODEL_FILE if model is not None else None,
            "settings": settings,
            "features": feature_names(),
            "labels": {
                "queries": len(queries),
                "pairs": sum(len(store["labels"][q]) for q in queries),
                "positives": sum(y for q in queries for _, y in store["labels"][q]),
                "label_seconds_all_sessions": store["seconds"],
            },
            "validation": report,
            "gate": gate,
            "held_out_validation": gate_report,
            "fit_seconds_this_session": round(time.perf_counter() - start, 1),
        }
        return write_checkpoint(config, self.name, payload)

    def reconstruct_metadata(self, checkpoint: Path, config: RunConfig) -> dict:
        ck = read_checkpoint(checkpoint)
        return {
            "candidates": ck["candidates"],
            "labels": ck["labels"],
            "settings": ck["settings"],
            "gate": ck.get("gate", scorer.NO_GATE),
        }

    def reconstruct(
        self, data: BenchmarkData, checkpoint: Path, config: RunConfig, ids: list[str] | None = None
    ) -> Iterator[Reconstruction]:
        ck = read_checkpoint(checkpoint)
        model = scorer.load(Path(checkpoint).parent / ck["model"]) if ck["model"] else None
        volumes, gate = ck["element_volumes"], ck.get("gate", scorer.NO_GATE)
        index = CandidateIndex(data)
        counts = TemplateCounts(data, index, ck["spacegroups"], _read_labels(Path(checkpoint).parent, ck))
        k = max(ck["candidates"], config.samples)
        cache: dict[str, tuple] = {}

        def predict(key: str, sample: int = 0) -> Structure:
            if key not in cache:
                cache.clear()  # samples of one id come one after another
                test = cell_counts(data.structure(key))  # the composition, nothing else of the test crystal
                cands = index.ranked(test, k)
                if not cands:
                    raise ValueError(f"no training crystal with {sum(test.values())} atoms to use as a prototype")
                x = pair_features(test, cands, counts.view(None), _volume_fn(volumes))
                cache[key] = (test, [cands[i] for i in scorer.ranked(model, gate, x)])
            test, ordered = cache[key]
            if sample >= len(ordered):
                raise ValueError(f"only {len(ordered)} training prototype(s) with {sum(test.values())} atoms")
            cand = ordered[sample]
            proto = data.structure(cand.template_id)
            out = index.substituted(test, cand)
            out.scale_lattice(proto.volume * _volume(volumes, test) / _volume(volumes, dict(cand.comp)))
            return out

        return predict_each(data.test_ids if ids is None else ids, predict, config.samples)


def _read_labels(folder: Path, ck: dict) -> dict:
    """The training labels the checkpoint was fitted on (the templates' own label features)."""
    return json.loads((folder / ck["labels_file"]).read_text(encoding="utf-8"))


def _volume(volumes: dict[str, float], counts: dict[str, int]) -> float:
    return sum(n * volumes.get(el, volumes["_mean"]) for el, n in counts.items())


def _volume_fn(volumes: dict[str, float]):
    return lambda counts: _volume(volumes, counts)


def labeled_queries(data: BenchmarkData, n: int) -> list[str]:
    """The first ``n`` training ids in the labels' fixed order (``n < 0``: all of them)."""
    order = labels_mod.label_order(data.train_ids)
    return order if n < 0 else order[:n]


class TemplateCounts:
    """Per training crystal: space group, crystal system, volume, and how many crystals share its
    prototype key (atom count, stoichiometry pattern, space group) and its composition.

    and its own leave-one-out labels (``labels``: how many of its candidates matched it).
    :meth:`view` leaves one crystal (the leave-one-out query) out of every count.
    """

    def __init__(
        self,
        data: BenchmarkData,
        index: CandidateIndex,
        spacegroups: dict[str, list],
        labels: dict | None = None,
        polymorphs: PolymorphTable | None = None,
    ):
        self.data, self.sg, self.labels = data, spacegroups, labels or {}
        self.polymorphs = polymorphs if polymorphs is not None else PolymorphTable(data)
        self.key = {i: _proto_key(data.structure(i), spacegroups[i][0]) for m in index.members.values() for i in m}
        self.proto = Counter(self.key.values())
        self.index = index

    def view(self, exclude: str | None) -> _TemplateView:
        return _TemplateView(self, exclude)


class _TemplateView(dict):
    """``{template id: descriptors}`` computed on access, with ``exclude`` left out of the counts."""

    def __init__(self, counts: TemplateCounts, exclude: str | None):
        super().__init__()
        self.counts, self.exclude = counts, exclude

    def __missing__(self, tid: str) -> dict:
        c = self.counts
        s = c.data.structure(tid)
        comp = tuple(sorted(cell_counts(s).items()))
        ex = self.exclude
        same_key = ex is not None and c.key.get(ex) == c.key[tid]
        same_comp = ex is not None and ex in c.index.members[comp]
        own = [y for t, y in c.labels.get(tid, []) if t != ex]
        info = {
            "template_positives": float(sum(own)) if tid in c.labels else np.nan,
            "template_positive_rate": float(np.mean(own)) if own else np.nan,
            "spacegroup": c.sg[tid][0],
            "system": c.sg[tid][1],
            "volume": s.volume,
            "prototype_count": c.proto[c.key[tid]] - int(same_key),
            "composition_count": len(c.index.members[comp]) - int(same_comp),
            "prototype_key": c.key[tid],
        }
        self[tid] = info
        return info

    def polymorph_keys(self, test: dict[str, int]) -> set[tuple]:
        """Prototype keys of the pool's crystals with the composition ``test`` (the excluded one left out)."""
        c = self.counts
        members = c.index.members.get(tuple(sorted(test.items())), [])
        return {c.key[i] for i in members if i != self.exclude}

    def rebuilds_polymorph(self, test: dict[str, int], cands: list) -> list[bool]:
        """Per candidate: whether the substituted candidate matches a pool crystal of ``test``'s composition
        (the excluded one left out): :mod:`.polymorphs`."""
        c = self.counts
        pool = set(c.index.members.get(tuple(sorted(test.items())), [])) - {self.exclude}
        if not pool:
            return [False] * len(cands)
        return [any(p in pool for p in hits) for hits in c.polymorphs.rebuilt(test, cands, c.index)]


def _proto_key(structure: Structure, spacegroup: int | None) -> tuple:
    return len(structure), tuple(sorted(cell_counts(structure).values())), spacegroup


def training_groups(
    data: BenchmarkData,
    index: CandidateIndex,
    labels: dict[str, list],
    spacegroups: dict,
    volumes: dict,
    polymorphs: PolymorphTable | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per labelled query: (pair features of its leave-one-out candidates, their 0/1 labels, template ids)."""
    counts = TemplateCounts(data, index, spacegroups, labels, polymorphs)
    k = max((len(v) for v in labels.values()), default=0)
    vol = _volume_fn(volumes)
    groups = {}
    for q, pairs in labels.items():
        test = cell_counts(data.structure(q))
        cands = index.ranked(test, k, exclude=q)
        if [c.template_id for c in cands] != [t for t, _ in pairs]:
            raise ValueError(f"labels of {q} were made for other candidates; clear the template label cache")
        x = pair_features(test, cands, counts.view(q), vol) if cands else np.zeros((0, len(feature_names())))
        groups[q] = (x, np.array([y for _, y in pairs], dtype=int), [t for t, _ in pairs])
    return groups


def describe_checkpoint(path: Path) -> dict:
    """The checkpoint's JSON (for scripts)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))

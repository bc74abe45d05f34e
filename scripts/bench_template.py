#!/usr/bin/env python
"""The template runner's match rate against the number of training crystals used for its labels.

For each benchmark: the labels of every test crystal's ``candidates`` templates are computed once
(the same matcher as the leaderboard's, ltol 0.3 / stol 0.5 / angle_tol 10, volume rescaled), for
*measurement only*; then the scorer is fitted on the leave-one-out labels of the first ``n`` training
crystals (the labels' fixed order, so each ``n`` holds the smaller ones) and its first choice (and
its first 5) are looked up. ``n = 0`` is ``nearest``'s rule: no model, nearest's order. The scorer
settings and the gate (which kind of query the learned order decides) of each point are the ones the
full cpu fit chose (read from its checkpoint), so the curve shows the effect of the labels alone.

    python scripts/bench_template.py --benchmarks dft_3d_Tc_supercon alex_supercon_Tc \\
        --points 0 100 300 1000 3000 -1 --checkpoint-dir /work/runs --out docs/results/template_labels.png

Writes a PNG figure and prints a Markdown table (and a JSON file next to the figure).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
from atomgenbench.core.executors import Executor
from atomgenbench.runners.baselines.common import cell_counts
from atomgenbench.runners.baselines.nearest import element_volumes
from atomgenbench.runners.template import labels as labels_mod
from atomgenbench.runners.template import scorer
from atomgenbench.runners.template.candidates import CandidateIndex
from atomgenbench.runners.template.features import pair_features
from atomgenbench.runners.template.runner import TemplateCounts, _volume_fn, labeled_queries, training_groups


def test_labels(data, index: CandidateIndex, k: int, workers: int) -> dict[str, tuple]:
    """Per test id: (its candidates, whether each substituted template matches the test crystal)."""
    cands = {t: index.ranked(cell_counts(data.structure(t)), k) for t in data.test_ids}
    tasks = [
        (
            data.structure(t),
            [index.substituted(cell_counts(data.structure(t)), c) for c in cands[t]],
            labels_mod.DEFAULT_MATCHER,
        )
        for t in cands
    ]
    found = Executor.create("process", workers, progress=False).map(labels_mod._label_query, tasks, desc="test labels")
    return {t: (cands[t], np.array(y, dtype=int)) for t, y in zip(cands, found)}


def curve(bench: str, points: list[int], k: int, settings: dict, gate: dict, workers: int) -> list[dict]:
    data = load_benchmark(bench)
    index = CandidateIndex(data)
    symmetry = labels_mod.spacegroup_table(data, workers=workers)
    vol = _volume_fn(element_volumes(data))
    store = labels_mod.compute_labels(data, k, workers=workers)
    truth = test_labels(data, index, k, workers)
    rows = []
    done: set[int] = set()
    for n in points:
        start = time.perf_counter()
        queries = labeled_queries(data, n)
        if len(queries) in done:  # a point beyond the training split's size repeats the full one
            continue
        done.add(len(queries))
        labels = {q: store["labels"][q] for q in queries}
        model = None
        if queries:
            groups = training_groups(data, index, labels, symmetry, element_volumes(data))
            x, y = scorer._stack(groups, [q for q in groups if len(groups[q][1])])
            model = scorer.make_model(settings, 0).fit(x, y) if len(set(y)) > 1 else None
        counts = TemplateCounts(data, index, symmetry, labels)
        at1 = at5 = 0
        for t, (cands, y) in truth.items():
            x = pair_features(cell_counts(data.structure(t)), cands, counts.view(None), vol)
            ranked = scorer.ranked(model, gate, x)
            at1 += int(y[ranked[0]]) if len(y) else 0
            at5 += int(y[ranked[:5]].any()) if len(y) else 0
        rows.append(
            {
                "benchmark": bench,
                "label_queries": len(queries),
                "label_pairs": sum(len(v) for v in labels.values()),
                "match@1": at1,
                "match@5": at5,
                "any@k": int(sum(y.any() for _, y in truth.values())),
                "n_test": len(truth),
                "gate": gate,
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benches = list(dict.fromkeys(r["benchmark"] for r in rows))
    fig, axes = plt.subplots(1, len(benches), figsize=(5 * len(benches), 3.6), squeeze=False)
    for ax, bench in zip(axes[0], benches):
        mine = [r for r in rows if r["benchmark"] == bench]
        xs = [max(r["label_queries"], 1) for r in mine]
        ax.plot(xs, [r["match@1"] / r["n_test"] for r in mine], "o-", label="template, match@1")
        ax.plot(xs, [r["match@5"] / r["n_test"] for r in mine], "s--", label="template, match@5")
        ax.axhline(mine[0]["match@1"] / mine[0]["n_test"], color="grey", ls=":", label="nearest's rule (0 labels)")
        ax.set_xscale("log")
        ax.set_xlabel("training crystals with labels (0 drawn at 1)")
        ax.set_ylabel("match rate (test)")
        ax.set_title(bench)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmarks", nargs="+", default=["dft_3d_Tc_supercon", "alex_supercon_Tc"])
    ap.add_argument("--points", nargs="+", type=int, default=[0, 100, 300, 1000, 3000, -1])
    ap.add_argument("--checkpoint-dir", type=Path, required=True, help="holds template-<bench>/work/template.json")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--gate",
        choices=["checkpoint", "off"],
        default="checkpoint",
        help="the checkpoint's gate (the runner's order), or off: the learned order decides every query",
    )
    ap.add_argument("--out", type=Path, default=Path("docs/results/template_labels.png"))
    args = ap.parse_args()
    rows = []
    for bench in args.benchmarks:
        ck = json.loads((args.checkpoint_dir / f"template-{bench}" / "work" / "template.json").read_text())
        gate = ck.get("gate", scorer.NO_GATE) if args.gate == "checkpoint" else scorer.NO_GATE
        rows += curve(bench, args.points, ck["candidates"], ck["settings"], gate, args.workers)
    plot(rows, args.out)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    print("| benchmark | labelled training crystals | label pairs | match@1 | match@5 | any of k |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        n = r["n_test"]
        print(
            f"| {r['benchmark']} | {r['label_queries']} | {r['label_pairs']} | {r['match@1']}/{n} | "
            f"{r['match@5']}/{n} | {r['any@k']}/{n} |"
        )


if __name__ == "__main__":
    main()

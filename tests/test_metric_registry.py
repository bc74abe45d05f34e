"""The metric registry is the one definition: metrics.json, compare and docs/metrics.md follow it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from atomgenbench.cli import cli
from atomgenbench.core.executors import Executor
from atomgenbench.evaluator.metrics import registry as metrics
from atomgenbench.evaluator.metrics.registry import BREAKDOWN_KEYS, HIGHER, LOWER, META_KEYS, REGISTRY, TRAILER_KEYS

#: the metrics of a single-sample evaluation with --legacy-anonymous (``samples.*`` appear only for runs with
#: K > 1 samples per id)
SINGLE = {name: m for name, m in REGISTRY.items() if m.applies is None or m.family == "rmse_anonymous"}

DOCS = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
DFT = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"


@pytest.fixture(scope="module")
def doc(contributions) -> dict:
    """A real metrics.json: `atomgenbench evaluate --json` on the official AtomGPT dft_3d file."""
    res = CliRunner().invoke(
        cli,
        [
            "evaluate",
            str(contributions / "atomgpt_invatoms" / DFT),
            "--json",
            "-j",
            "2",
            "--n-bootstrap",
            "30",
            "--legacy-anonymous",
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout[res.stdout.index("{") :])


def test_every_entry_is_a_complete_typed_record():
    assert len(REGISTRY) >= 50
    for name, m in REGISTRY.items():
        assert name == m.name and re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", name), name
        assert m.direction in (LOWER, HIGHER), name
        assert m.label and m.unit and m.denominator and m.formula, name
        assert callable(m.statistic) and callable(m.count), name
    # a family is a single metric or keyed members; only the RMSE layout nests its rate and penalised mean
    for family in metrics.families():
        members = metrics.family(family)
        assert len(members) == 1 or all(m.key for m in members) or members[0].layout == "rmse", family
        assert len({m.layout for m in members}) == 1, family


def _numbers(node, path=()):
    """Dotted paths of every metric number in a metrics.json family: dicts with "value", and RMSE scalars."""
    if isinstance(node, dict):
        if "value" in node:
            yield ".".join(path)
        for key, value in node.items():
            if key != "value":
                yield from _numbers(value, (*path, key))


@pytest.mark.slow
def test_every_metric_key_of_a_real_metrics_json_is_a_registry_name(doc):
    families = {m.family for m in SINGLE.values()}
    # the evaluate command adds the pymatgen-environment section (evaluator/leaderboard/score.py)
    other = set(META_KEYS) | set(TRAILER_KEYS) | set(BREAKDOWN_KEYS) | {"leaderboard_env"}
    assert set(doc) - other == families
    assert families <= set(doc)
    found = set()
    for family in families:
        found |= set(_numbers(doc[family], (family,)))
    found |= {f"{f}.match_rate" for f in ("rmse", "rmse_anonymous")}  # scalars of the RMSE layout
    assert found == set(SINGLE), found ^ set(SINGLE)
    for name in SINGLE:  # each resolves to a number (or null where undefined)
        value = metrics.lookup(doc, name)
        assert value is None or isinstance(value, (int, float)), name
    assert doc["rmse"]["value"] == pytest.approx(0.1001, abs=5e-5) and doc["ccrmsd"]["n"] == 105


def test_registry_values_are_what_metrics_json_holds(doc, contributions):
    """The statistic of each entry recomputed from the per-row records gives the metrics.json number."""
    from atomgenbench.evaluator.inputs.load import load_predictions
    from atomgenbench.evaluator.metrics.evaluate import evaluate

    bench = "dft_3d_Tc_supercon"
    preds = load_predictions(contributions / "atomgpt_invatoms" / DFT, bench)
    result = evaluate(preds, bench, executor=Executor.create("process", 2), n_boot=0, legacy_anonymous=True)
    rows = metrics.Rows(result.records, result.settings)
    for name, m in SINGLE.items():
        got, expected = m.value(rows), metrics.lookup(doc, name)
        if expected is None:
            assert not np.isfinite(got), name
        else:
            assert got == pytest.approx(expected, rel=1e-12, abs=1e-15), name


def _documented() -> dict[str, list[str]]:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Metric registry") :]
    section = section[: section.find("\n## ", 5)] if section.find("\n## ", 5) > 0 else section
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    return rows


def test_docs_list_every_registry_metric_and_nothing_else():
    rows = _documented()
    assert set(rows) == set(REGISTRY), {"undocumented": set(REGISTRY) - set(rows), "unknown": set(rows) - set(REGISTRY)}
    for name, cells in rows.items():
        assert cells[2] == REGISTRY[name].unit and cells[3] == REGISTRY[name].direction, (name, cells)


@pytest.mark.slow
def test_compare_rows_are_the_registry_compare_metrics(contributions):
    from atomgenbench.evaluator.inputs.load import load_predictions
    from atomgenbench.evaluator.metrics.compare import compare
    from atomgenbench.evaluator.metrics.evaluate import evaluate

    bench = "dft_3d_Tc_supercon"
    results = {
        m: evaluate(
            load_predictions(contributions / f"{m}_invatoms" / DFT, bench),
            bench,
            executor=Executor.create("process", 2),
            n_boot=0,
        )
        for m in ("cdvae", "atomgpt")
    }
    comp = compare(results, n_boot=40, seed=1).to_json()
    names = [m.name for m in SINGLE.values() if m.compare]
    assert list(comp["table"]["cdvae"]) == names
    for new in ("ccrmsd", "validity.both", "symmetry.spacegroup", "symmetry.crystal_system"):
        assert new in names and comp["metrics"][new]["better"] == REGISTRY[new].direction
        d = comp["paired_differences"]["atomgpt"][new]
        assert d["diff"] == pytest.approx(comp["table"]["atomgpt"][new] - comp["table"]["cdvae"][new])
        assert d["ci95"] is not None and d["ci95"][0] <= d["ci95"][1]

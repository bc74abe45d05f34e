"""The one evaluation workflow: predictions → a result folder, and several predictions → a comparison folder.

``atomgenbench evaluate``, ``atomgenbench compare``, ``reproduce``'s evaluate and compare
stages and the bench scripts all call these functions, so the same input and settings give
the same ``metrics.json`` whichever of them produced it. A result folder holds:

``metrics.json``  every registry metric, breakdowns, settings, versions, failures, and the
                  ``leaderboard_env`` section (which pymatgen decided the RMSE, borderline rows);
``rows.csv``      one row per test id;
``report.md``     the same for people, with ``*.png`` figures;
``report.html``   one self-contained page: sortable tables, interactive figures, a 3-D crystal viewer;
``source.txt``    the input the numbers came from (the page's viewer reads the predictions there);
``result.json``   the whole result in its own serialisation, read back by a later comparison.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from atomgenbench.benchmarks.atomgen.predictions import Predictions, check_overlap
from atomgenbench.benchmarks.atomgen.registry import (
    MAX_ATOMS,
    BenchmarkKind,
    get_spec,
    require_structure,
    spec_for_leaderboard_file,
)
from atomgenbench.core.errors import UsageError
from atomgenbench.core.executors import SERIAL, Executor
from atomgenbench.core.io import atomic_write_text
from atomgenbench.evaluator.metrics.compare import Comparison
from atomgenbench.evaluator.metrics.results import EvaluationResult

log = logging.getLogger("atomgenbench")

RESULT_FILE = "result.json"
SOURCE_FILE = "source.txt"
HTML_FILE = "report.html"


@dataclass(frozen=True)
class EvaluationSettings:
    """Everything besides the input and the executor that decides an evaluation's numbers."""

    max_atoms: int = MAX_ATOMS
    seed: int = 0
    n_bootstrap: int = 1000
    time_limit_s: float = 60.0
    legacy_anonymous: bool = False
    leaderboard_env: bool = False  # also score in the leaderboard's pinned environment
    matcher: str = "fast"  # get_rms_dist: "fast" (vectorised, pymatgen's decisions) or "pymatgen"


@dataclass
class Evaluation:
    """One evaluated input: ``metrics`` is the metrics.json document; ``result`` is ``None`` for lattice files."""

    source: Path
    metrics: dict
    result: EvaluationResult | None = None
    predictions: Predictions | None = None


def resolve_benchmark(pred: Path, benchmark: str | None) -> str:
    """The benchmark to score: the one named, else the one a leaderboard file name identifies."""
    if benchmark:
        return get_spec(benchmark).name  # an unknown name is a UsageError with "did you mean"
    spec = spec_for_leaderboard_file(Path(pred).name)
    if spec is None:
        raise UsageError(f"{pred}: cannot tell the benchmark from the file name; pass --benchmark NAME")
    return spec.name


def warn_id_overlap(ids, benchmark: str, source: Path) -> None:
    """No shared id with the test split is an error; a partial overlap is a warning with the counts."""
    from atomgenbench.benchmarks.atomgen.dataset import test_ids

    warning = check_overlap(ids, test_ids(benchmark), source=str(source), benchmark=benchmark)
    if warning:
        log.warning("%s", warning)


def load_input(pred: Path, benchmark: str, *, in_test_order: bool = False, label: str | None = None) -> Predictions:
    """Read a structure input and check its ids against the test split (before any slow work)."""
    from atomgenbench.evaluator.inputs.load import load_predictions

    predictions = load_predictions(pred, benchmark, in_test_order=in_test_order)
    if label is not None:
        predictions.model = label
    warn_id_overlap(predictions.structures, benchmark, pred)
    return predictions


def evaluate_input(
    pred: Path,
    benchmark: str,
    settings: EvaluationSettings = EvaluationSettings(),
    executor: Executor = SERIAL,
    *,
    in_test_order: bool = False,
    label: str | None = None,
    predictions: Predictions | None = None,
) -> Evaluation:
    """Evaluate one input on ``benchmark`` (a structure or a lattice-parameter benchmark)."""
    if get_spec(benchmark).kind == BenchmarkKind.FLOAT:
        return _evaluate_float(Path(pred), benchmark, settings)
    if predictions is None:
        predictions = load_input(pred, benchmark, in_test_order=in_test_order, label=label)
    result = _evaluate_structures(predictions, benchmark, settings, executor)
    from atomgenbench.evaluator.leaderboard.score import environment_section

    metrics = result.to_json()
    metrics["leaderboard_env"] = environment_section(
        predictions.structures, benchmark, result.records, executor, pinned=settings.leaderboard_env
    )
    return Evaluation(Path(pred), metrics, result, predictions)


def _evaluate_structures(
    predictions: Predictions, benchmark: str, settings: EvaluationSettings, executor: Executor
) -> EvaluationResult:
    from atomgenbench.evaluator.metrics.evaluate import evaluate

    return evaluate(
        predictions,
        benchmark,
        executor=executor,
        max_atoms=settings.max_atoms,
        seed=settings.seed,
        n_boot=settings.n_bootstrap,
        time_limit_s=settings.time_limit_s,
        legacy_anonymous=settings.legacy_anonymous,
        matcher=settings.matcher,
    )


def _evaluate_float(pred: Path, benchmark: str, settings: EvaluationSettings) -> Evaluation:
    from atomgenbench.evaluator.inputs.load import load_float_predictions
    from atomgenbench.evaluator.leaderboard.score import score_float_file
    from atomgenbench.evaluator.metrics.results import float_result_json

    values, failures = load_float_predictions(pred)
    warn_id_overlap([*values, *failures], benchmark, pred)
    if settings.leaderboard_env:
        log.info("%s: a lattice-parameter MAE does not depend on pymatgen; --leaderboard-env changes nothing", pred)
    return Evaluation(pred, float_result_json(score_float_file(pred, benchmark, loaded=(values, failures))))


def write_evaluation(evaluation: Evaluation, out: Path, *, figures: bool = True, html: bool = True) -> list[Path]:
    """The result folder of one evaluation (see the module docstring); ``figures=False`` skips PNGs and the page."""
    from atomgenbench.evaluator.reports.evaluation import write_outputs

    out = Path(out)
    records = evaluation.result.records if evaluation.result is not None else None
    written = write_outputs(evaluation.metrics, out, records, figures=figures)
    if evaluation.result is None:
        return written
    doc = {"source": str(evaluation.source), "result": evaluation.result.to_state()}
    atomic_write_text(out / RESULT_FILE, json.dumps(doc, allow_nan=False) + "\n")
    atomic_write_text(out / SOURCE_FILE, f"{evaluation.source}\n")
    written += [out / RESULT_FILE, out / SOURCE_FILE]
    if figures and html:
        from atomgenbench.evaluator.reports.html import write_html_report

        predictions = {out: evaluation.predictions} if evaluation.predictions is not None else None
        written.append(write_html_report([out], out / HTML_FILE, predictions=predictions))
    return written


def read_result(folder: Path) -> EvaluationResult:
    """The full result a :func:`write_evaluation` folder holds (``ValueError`` when it holds none)."""
    doc = json.loads((Path(folder) / RESULT_FILE).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or "result" not in doc:
        raise ValueError(f"{folder}/{RESULT_FILE} is not an atomgenbench evaluation result")
    return EvaluationResult.from_state(doc["result"])


def evaluate_to_folder(
    pred: Path,
    benchmark: str,
    out: Path,
    settings: EvaluationSettings = EvaluationSettings(),
    executor: Executor = SERIAL,
    *,
    in_test_order: bool = False,
    label: str | None = None,
    figures: bool = True,
    html: bool = True,
) -> Evaluation:
    """:func:`evaluate_input` then :func:`write_evaluation`."""
    evaluation = evaluate_input(pred, benchmark, settings, executor, in_test_order=in_test_order, label=label)
    write_evaluation(evaluation, out, figures=figures, html=html)
    return evaluation


def evaluate_many(
    inputs: dict[str, Path],
    benchmark: str,
    settings: EvaluationSettings = EvaluationSettings(),
    executor: Executor = SERIAL,
    *,
    in_test_order: bool | dict[str, bool] = False,
) -> dict[str, Evaluation]:
    """Evaluate labelled inputs on one structure benchmark; every input is read and checked before the slow part."""
    require_structure(benchmark, "compare")
    order = in_test_order if isinstance(in_test_order, dict) else dict.fromkeys(inputs, in_test_order)
    loaded = {
        label: load_input(path, benchmark, in_test_order=order.get(label, False), label=label)
        for label, path in inputs.items()
    }
    out = {}
    for label, path in inputs.items():
        log.info("evaluating %s (%s)", label, path)
        out[label] = evaluate_input(path, benchmark, settings, executor, predictions=loaded[label])
    return out


def compare_results(results: dict[str, EvaluationResult], settings: EvaluationSettings) -> Comparison:
    """The paired comparison of several results (the first is the reference)."""
    from atomgenbench.evaluator.metrics.compare import compare

    return compare(results, n_boot=settings.n_bootstrap, seed=settings.seed)


def comparison_text(
    evaluations: dict[str, Evaluation], settings: EvaluationSettings, *, published: bool = False
) -> tuple[Comparison, str]:
    """The paired comparison of evaluated inputs and its Markdown (with the published rows when asked)."""
    from atomgenbench.evaluator.leaderboard.published import published_lines
    from atomgenbench.evaluator.metrics.compare import markdown

    results = {label: ev.result for label, ev in evaluations.items() if ev.result is not None}
    comp = compare_results(results, settings)
    text = markdown(comp) + ("\n" + "\n".join(published_lines(comp.benchmark)) + "\n" if published else "")
    return comp, text


def write_comparison(
    evaluations: dict[str, Evaluation],
    out: Path,
    settings: EvaluationSettings,
    *,
    published: bool = False,
    figures: bool = True,
) -> tuple[Comparison, str]:
    """The comparison folder: each model's result folder under ``out/<label>/``, comparison.json/md, bar charts.

    Returns the comparison and its Markdown text.
    """
    from atomgenbench.evaluator.leaderboard.published import published_rows
    from atomgenbench.evaluator.reports.plots import plot_bars, plot_match_at_k

    comp, text = comparison_text(evaluations, settings, published=published)
    benchmark = comp.benchmark
    extra = {"published": published_rows(benchmark)} if published else {}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for label, ev in evaluations.items():
        write_evaluation(ev, out / label, figures=figures, html=False)
    atomic_write_text(out / "comparison.json", json.dumps({**comp.to_json(), **extra}, indent=2) + "\n")
    atomic_write_text(out / "comparison.md", text)
    docs = {label: ev.metrics for label, ev in evaluations.items()}
    if figures:
        plot_bars(docs, out)
        curves = {label: d["samples"]["match_at_k"]["curve"] for label, d in docs.items() if "samples" in d}
        if curves:  # every multi-sample model's match@k curve in one figure
            plot_match_at_k(curves, out / "match_at_k.png", title=f"match@k on {benchmark}")
        from atomgenbench.evaluator.reports.html import write_html_report

        predictions = {label: ev.predictions for label, ev in evaluations.items() if ev.predictions is not None}
        write_html_report([out], out / HTML_FILE, predictions=predictions)
    return comp, text


def compare_to_folder(
    inputs: dict[str, Path],
    benchmark: str,
    out: Path,
    settings: EvaluationSettings = EvaluationSettings(),
    executor: Executor = SERIAL,
    *,
    in_test_order: bool | dict[str, bool] = False,
    published: bool = False,
    figures: bool = True,
) -> tuple[Comparison, str]:
    """:func:`evaluate_many` then :func:`write_comparison`."""
    evaluations = evaluate_many(inputs, benchmark, settings, executor, in_test_order=in_test_order)
    return write_comparison(evaluations, out, settings, published=published, figures=figures)

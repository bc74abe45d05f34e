"""The headline table for papers: LaTeX well-formedness, numbers equal to metrics.json, the CLI."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from atomgenbench.cli import cli
from atomgenbench.core.executors import Executor
from atomgenbench.evaluator.leaderboard.published import published_rows
from atomgenbench.evaluator.metrics.registry import HIGHER, ci_of, get, lookup
from atomgenbench.evaluator.reports import tables

BENCH = "dft_3d_Tc_supercon"
DFT = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
N_BOOT = 50


@pytest.fixture(scope="module")
def inputs(contributions, tmp_path_factory):
    """``{label: predictions file}``: the nearest baseline and the official CDVAE file."""
    from atomgenbench.runners.api import run

    out = tmp_path_factory.mktemp("nearest")
    run("nearest", BENCH, "cpu", out, progress=False)
    return {"nearest": out / "predictions.csv", "cdvae": contributions / "cdvae_invatoms" / DFT}


@pytest.fixture(scope="module")
def docs(inputs) -> dict[str, dict]:
    from atomgenbench.evaluator.inputs.load import load_predictions
    from atomgenbench.evaluator.metrics.evaluate import evaluate

    return {
        label: evaluate(
            load_predictions(path, BENCH), BENCH, executor=Executor.create("process", 2), n_boot=N_BOOT
        ).to_json()
        for label, path in inputs.items()
    }


@pytest.fixture(scope="module")
def table(docs) -> tables.Table:
    return tables.headline(docs, published=published_rows(BENCH))


def _strip_escaped(text: str) -> str:
    return re.sub(r"\\[{}&%$#_]", "", text)


def _cells(row: str) -> list[str]:
    """The cells of a tabular row (``... \\\\``), split at unescaped ``&``."""
    body = row.strip().removesuffix(r"\\").strip()
    return [c.strip() for c in re.split(r"(?<!\\)&", body)]


def _width(cells: list[str]) -> int:
    """Columns a row spans (a ``\\multicolumn{n}`` cell counts n)."""
    return sum(int(m.group(1)) if (m := re.match(r"\\multicolumn\{(\d+)\}", c)) else 1 for c in cells)


def _tabular(text: str) -> tuple[int, list[str]]:
    """(column count of ``\\begin{tabular}{spec}``, the rows between \\toprule and \\bottomrule)."""
    spec = re.search(r"\\begin\{tabular\}\{([^}]*)\}", text).group(1)
    inner = text.split(r"\toprule", 1)[1].split(r"\bottomrule", 1)[0]
    rows = [line for line in inner.splitlines() if line.strip().endswith(r"\\")]
    return len(re.findall(r"[lcrp]", spec)), rows


@pytest.mark.slow
def test_latex_is_well_formed(table):
    text = tables.render(table, "latex")
    bare = _strip_escaped(text)
    depth = 0
    for ch in bare:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, "a } closes nothing"
    assert depth == 0, "unbalanced braces"
    assert bare.count("$") % 2 == 0, "unbalanced math mode"
    assert text.startswith(r"\documentclass{article}") and r"\usepackage{booktabs}" in text
    assert text.rstrip().endswith(r"\end{document}")
    for env in ("document", "table", "tabular"):
        assert text.count(rf"\begin{{{env}}}") == text.count(rf"\end{{{env}}}") == 1, env
    order = [text.index(x) for x in (r"\begin{tabular}", r"\toprule", r"\midrule", r"\bottomrule", r"\end{tabular}")]
    assert order == sorted(order)
    n_cols, rows = _tabular(text)
    assert n_cols == 1 + len(tables.HEADLINE)
    assert len(rows) == 2 + len(table.rows)  # two header rows, then one per model
    for row in rows:
        assert _width(_cells(row)) == n_cols, row
    assert r"\cmidrule(lr){6-11}" in text  # the Niggli MAE head spans the six MAE columns


def _parse_cell(cell: str) -> tuple[str | None, tuple[str, str] | None, bool]:
    """(value, (CI low, CI high), bold) of a LaTeX or Markdown cell."""
    bold = r"\textbf{" in cell or "**" in cell
    numbers = re.findall(r"-?\d+\.\d+", cell)
    if not numbers:
        return None, None, False
    return numbers[0], (tuple(numbers[1:3]) if len(numbers) > 1 else None), bold


def _expected(doc: dict, name: str) -> tuple[str, tuple[str, str] | None]:
    digits = tables.Column.of(name).digits
    ci = ci_of(doc, name)
    bounds = None if ci is None else (f"{ci[0]:.{digits}f}", f"{ci[1]:.{digits}f}")
    return f"{lookup(doc, name):.{digits}f}", bounds


@pytest.mark.parametrize("fmt", ["latex", "markdown"])
def test_table_numbers_are_the_metrics_json_values_and_the_best_is_bold(docs, table, fmt):
    text = tables.render(table, fmt)
    if fmt == "latex":
        rows = [_cells(r) for r in _tabular(text)[1][2:]]
    else:
        rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()[2 : 2 + len(table.rows)]]
    assert [r[0].replace("\\_", "_") for r in rows] == [r.label for r in table.rows]
    parsed = {r[0].replace("\\_", "_"): [_parse_cell(c) for c in r[1:]] for r in rows}
    assert "±" not in text and "pm" not in text  # asymmetric CIs are shown as [low, high], never ± half-width
    for label, doc in docs.items():
        for name, (value, bounds, _) in zip(tables.HEADLINE, parsed[label]):
            assert (value, bounds) == _expected(doc, name), (label, name)
    for p in published_rows(BENCH):
        cells = dict(zip(tables.HEADLINE, parsed[f"published: {p['contribution']}"]))
        assert cells["rmse"][:2] == (f"{p['rmse']:.4f}", None)
        assert cells["rmse.match_rate"][0] == f"{p['n_matched'] / p['n_total']:.3f}"
        assert cells["mae.a"] == (None, None, False)
    for j, name in enumerate(tables.HEADLINE):
        values = {label: float(cells[j][0]) for label, cells in parsed.items() if cells[j][0] is not None}
        best = (max if get(name).direction == HIGHER else min)(values.values())
        bold = {label for label, cells in parsed.items() if cells[j][2]}
        assert bold == {label for label, v in values.items() if v == best}, name


def test_csv_holds_full_precision_values(docs, table):
    rows = list(csv.DictReader(io.StringIO(tables.render(table, "csv"))))
    assert [r["model"] for r in rows] == [r.label for r in table.rows]
    for row in rows[: len(docs)]:
        doc = docs[row["model"]]
        for name in tables.HEADLINE:
            assert float(row[name]) == lookup(doc, name), name
            ci = ci_of(doc, name)
            assert (float(row[f"{name}.ci95_low"]), float(row[f"{name}.ci95_high"])) == tuple(ci), name


def test_unknown_format_and_mixed_benchmarks_are_refused(docs):
    one = next(iter(docs.values()))
    with pytest.raises(ValueError, match="unknown table format"):
        tables.render(tables.headline({"a": one}), "html")
    with pytest.raises(ValueError, match="different benchmarks"):
        tables.headline({"a": one, "b": {**one, "benchmark": "alex_supercon_Tc"}})


def test_latex_compiles_with_pdflatex(table, tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not on PATH; the well-formedness test checks the LaTeX instead")
    (tmp_path / "table.tex").write_text(tables.render(table, "latex"), encoding="utf-8")
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "table.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "table.pdf").is_file()
    log = (tmp_path / "table.log").read_text(encoding="utf-8", errors="replace")
    assert "Overfull" not in log, "the table is wider than the page"


@pytest.mark.slow
def test_compare_format_writes_the_table_file(inputs, docs, tmp_path):
    base = ["compare", *map(str, inputs.values()), "-b", BENCH, "--labels", ",".join(inputs)]
    base += ["-j", "2", "--n-bootstrap", str(N_BOOT), "--published", "-q"]
    out = tmp_path / "paper" / "table.tex"
    res = CliRunner().invoke(cli, [*base, "--format", "latex", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text() == tables.render(tables.headline(docs, published=published_rows(BENCH)), "latex")
    assert not (tmp_path / "paper" / "comparison.json").exists()
    assert "By leakage stratum" in res.output and "| twin | 8 |" in res.output
    res = CliRunner().invoke(cli, [*base, "--format", "csv", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--format" in res.output and "is a folder" in res.output
    res = CliRunner().invoke(cli, [*base, "--out", str(out)])
    assert res.exit_code == 2 and "is a file" in res.output


def test_published_rows_take_count_and_rmse_from_one_environment():
    """The report's published rows pair the leaderboard's RMSE with the leaderboard environment's count."""
    from atomgenbench.evaluator.reports.summary import structure_table

    dft = "\n".join(structure_table({}, "dft_3d_Tc_supercon"))
    alex = "\n".join(structure_table({}, "alex_supercon_Tc"))
    assert "| published: atomgpt_invatoms (leaderboard env) | – | 32 | 0.305 | 0.1095 |" in dft
    assert "| published: atomgpt_invatoms (leaderboard env) | – | 420 | 0.509 | 0.0476 |" in alex
    for p in published_rows("alex_supercon_Tc"):  # the headline table agrees
        assert f"| {p['n_matched']} | {p['match_rate']:.3f} | {p['rmse']:.4f} |" in alex

"""The headline table of a comparison, for papers: Markdown, LaTeX (booktabs) or CSV.

One row per model (from its ``metrics.json``), then optionally the leaderboard's published
rows; the columns are :data:`HEADLINE` (match rate, RMSE, ccRMSD, structural validity and
the six Niggli MAEs), labelled from the metric registry. A cell is ``value [low, high]``, the
metric's percentile bootstrap 95% CI (asymmetric as it comes: a ``± half-width`` would suggest
a negative lower bound for a skewed MAE); the CSV keeps both bounds. The best value of each
column (the registry's ``direction``, compared as printed) is bold. ``atomgenbench compare
--format markdown|latex|csv --out FILE`` writes it; the LaTeX variant is a standalone document.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from atomgenbench.benchmarks.atomgen.registry import LATTICE_PARAMS
from atomgenbench.core.numbers import fmt
from atomgenbench.evaluator.leaderboard.published import PUBLISHED_ENVIRONMENT, PUBLISHED_SOURCE
from atomgenbench.evaluator.metrics.registry import HIGHER, ci_of, get, lookup

#: registry metrics of the headline table, in column order
HEADLINE = ("rmse.match_rate", "rmse", "ccrmsd", "validity.structural", *(f"mae.{p}" for p in LATTICE_PARAMS))
FORMATS = ("markdown", "latex", "csv")
#: decimals printed per unit (others: 4)
DIGITS = {"fraction": 3, "Å": 3, "°": 2}
DASH = "–"


@dataclass(frozen=True)
class Column:
    """One column: a registry metric with the label, unit and direction the registry gives it."""

    name: str
    label: str  # the registry label up to its first qualifier ("RMSE, matched only" -> "RMSE")
    full_label: str
    unit: str  # "" for fractions and dimensionless numbers
    direction: str
    digits: int

    @classmethod
    def of(cls, name: str) -> Column:
        m = get(name)
        unit = "" if m.unit == "fraction" or m.unit.startswith("dimensionless") else m.unit
        short = m.label.split(",")[0].split(" (")[0]
        return cls(name, short, m.label, unit, m.direction, DIGITS.get(m.unit, 4))

    def heading(self) -> str:
        """``label (unit)`` (text; the arrow is added per format)."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass
class Row:
    """One model: ``{metric: (value, (CI low, CI high) or None)}``."""

    label: str
    cells: dict[str, tuple[float | None, tuple[float, float] | None]]
    published: bool = False


@dataclass
class Table:
    """The headline table of one benchmark."""

    benchmark: str
    columns: list[Column]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)

    def text(self, row: Row, column: Column) -> tuple[str, str] | None:
        """``(value, "[low, high]")`` as printed (``""`` when there is no CI), ``None`` when empty."""
        value, ci = row.cells.get(column.name, (None, None))
        if value is None:
            return None
        d = column.digits
        return f"{value:.{d}f}", "" if ci is None else f"[{ci[0]:.{d}f}, {ci[1]:.{d}f}]"

    def best(self, column: Column) -> set[int]:
        """Indices of the rows holding the column's best printed value (ties: all of them)."""
        printed = {i: float(t[0]) for i, r in enumerate(self.rows) if (t := self.text(r, column)) is not None}
        if not printed:
            return set()
        target = (max if column.direction == HIGHER else min)(printed.values())
        return {i for i, v in printed.items() if v == target}


def headline(docs: dict[str, dict], *, published: list[dict] | None = None) -> Table:
    """The table of the ``metrics.json`` documents ``docs`` (label -> document), one benchmark.

    ``published`` (:func:`atomgenbench.evaluator.leaderboard.published.published_rows`) adds the
    leaderboard's rows: their RMSE and match rate (the leaderboard publishes nothing else of
    these columns; its MAE is over raw cells, not Niggli-reduced ones).
    """
    if not docs:
        raise ValueError("no models to tabulate")
    benchmarks = {doc.get("benchmark") for doc in docs.values()}
    if len(benchmarks) != 1:
        raise ValueError(f"the models were evaluated on different benchmarks: {sorted(map(str, benchmarks))}")
    columns = [Column.of(name) for name in HEADLINE]
    rows = [Row(label, {c.name: _cell(doc, c.name) for c in columns}) for label, doc in docs.items()]
    first = next(iter(docs.values()))
    s = first.get("settings") or {}
    notes = [
        f"[low, high]: the {s.get('n_bootstrap', 1000)}-resample percentile bootstrap 95% CI "
        f"(seed {s.get('seed', 0)}); bold: the best value of each column.",
        "Denominators: "
        + "; ".join(f"{c.full_label}: {get(c.name).denominator}" for c in columns[:4])
        + f"; Niggli MAE: {get('mae.a').denominator}.",
    ]
    if published:
        for p in published:
            cells = {"rmse": (p["rmse"], None), "rmse.match_rate": (p["n_matched"] / p["n_total"], None)}
            rows.append(Row(f"published: {p['contribution']}", cells, published=True))
        notes.append(
            f"Published rows: {PUBLISHED_SOURCE}, computed in the {PUBLISHED_ENVIRONMENT}; the leaderboard "
            "publishes no CI, ccRMSD, validity or Niggli MAE (its MAE is over raw cells)."
        )
    return Table(str(first.get("benchmark")), columns, rows, notes)


def render(table: Table, fmt: str) -> str:
    """The table as ``markdown``, ``latex`` (a standalone booktabs document) or ``csv``."""
    if fmt == "markdown":
        return markdown(table)
    if fmt == "latex":
        return latex(table)
    if fmt == "csv":
        return csv_text(table)
    raise ValueError(f"unknown table format {fmt!r}; known: {', '.join(FORMATS)}")


def markdown(table: Table) -> str:
    """A Markdown table; the best value of each column in ``**bold**``."""
    heads = [f"{c.heading()} {'↑' if c.direction == HIGHER else '↓'}" for c in table.columns]
    lines = ["| model | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
    best = {c.name: table.best(c) for c in table.columns}
    for i, row in enumerate(table.rows):
        cells = []
        for c in table.columns:
            t = table.text(row, c)
            if t is None:
                cells.append(DASH)
                continue
            value = f"**{t[0]}**" if i in best[c.name] else t[0]
            cells.append(f"{value} {t[1]}" if t[1] else value)
        lines.append(f"| {_md_escape(row.label)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in table.notes) + "\n"


def latex(table: Table) -> str:
    """A standalone LaTeX document (``article`` + ``booktabs``) holding the table.

    Two header rows: the metric labels (consecutive columns such as the six Niggli MAEs
    share one ``\\multicolumn`` label over a ``\\cmidrule``), then each column's unit and
    direction arrow.
    """
    best = {c.name: table.best(c) for c in table.columns}
    top, rules, sub = ["Model"], [], [""]
    for first, group, members in _groups(table.columns):
        if len(members) > 1:
            top.append(rf"\multicolumn{{{len(members)}}}{{c}}{{{tex(group)}}}")
            rules.append(rf"\cmidrule(lr){{{first + 2}-{first + len(members) + 1}}}")
        else:
            top.append(tex(members[0].label))
        for c in members:
            name = c.label[len(group) :].strip() if len(members) > 1 else ""
            unit = f"({tex(c.unit)})" if c.unit else ""
            arrow = r"$\uparrow$" if c.direction == HIGHER else r"$\downarrow$"
            sub.append(" ".join(x for x in (tex(name), unit, arrow) if x))
    body = []
    for i, row in enumerate(table.rows):
        if row.published and (i == 0 or not table.rows[i - 1].published):
            body.append(r"\midrule")
        cells = [tex(row.label)]
        for c in table.columns:
            t = table.text(row, c)
            if t is None:
                cells.append("--")
                continue
            value = rf"\textbf{{{t[0]}}}" if i in best[c.name] else t[0]
            cells.append(f"{value} {{{t[1]}}}" if t[1] else value)  # braces: a cell never starts an option
        body.append(" & ".join(cells) + r" \\")
    spec = "l" + "r" * len(table.columns)
    lines = [
        r"\documentclass{article}",
        r"\usepackage[T1]{fontenc}",
        r"\usepackage{booktabs}",
        r"\usepackage{graphicx}",
        r"\usepackage[landscape,margin=1.5cm]{geometry}",
        r"\begin{document}",
        r"\begin{table}[ht]",
        r"\centering",
        r"\small",
        r"\setlength{\tabcolsep}{4pt}",
        rf"\caption{{Crystal-structure reconstruction on \texttt{{{tex(table.benchmark)}}}.}}",
        r"% scaled down to the text width when wider (never up)",
        r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(top) + r" \\",
        *rules,
        " & ".join(sub) + r" \\",
        r"\midrule",
        *body,
        r"\bottomrule",
        r"\end{tabular}%",
        "}",
        "",
        r"\medskip",
        r"\footnotesize",
        " ".join(tex(n) for n in table.notes),
        r"\end{table}",
        r"\end{document}",
    ]
    return "\n".join(lines) + "\n"


def _groups(columns: list[Column]) -> list[tuple[int, str, list[Column]]]:
    """Runs of consecutive columns whose labels share all but the last word: ``(first index, label, columns)``.

    A run of one column keeps its whole label; a longer run is labelled by the shared words.
    """
    runs: list[tuple[int, str, list[Column]]] = []
    for i, c in enumerate(columns):
        prefix = c.label.rsplit(" ", 1)[0] if " " in c.label else None
        if runs and prefix is not None and runs[-1][1] == prefix:
            runs[-1][2].append(c)
        else:
            runs.append((i, prefix, [c]))
    return [(i, prefix if len(cs) > 1 else cs[0].label, cs) for i, prefix, cs in runs]


def csv_text(table: Table) -> str:
    """Machine-readable: ``model, source``, then each metric's value and both CI bounds at full precision."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    heads = [x for c in table.columns for x in (c.name, f"{c.name}.ci95_low", f"{c.name}.ci95_high")]
    writer.writerow(["model", "source", *heads])
    for row in table.rows:
        cells = [row.label, "published" if row.published else "evaluated"]
        for c in table.columns:
            value, ci = row.cells.get(c.name, (None, None))
            low, high = ci if ci is not None else ("", "")
            cells += ["" if value is None else repr(value), repr(low) if ci else "", repr(high) if ci else ""]
        writer.writerow(cells)
    return buf.getvalue()


_TEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "α": r"$\alpha$",
    "β": r"$\beta$",
    "γ": r"$\gamma$",
    "Å": r"\AA{}",
    "°": r"$^\circ$",
    "±": r"$\pm$",
    "–": "--",
    "—": "---",
    "²": r"$^2$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "×": r"$\times$",
    "−": "-",
}


def tex(text: str) -> str:
    """``text`` escaped for LaTeX text mode (special characters and the symbols the registry uses)."""
    return "".join(_TEX.get(ch, ch) for ch in str(text))


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def _cell(doc: dict, name: str) -> tuple[float | None, tuple[float, float] | None]:
    value = lookup(doc, name)
    ci = ci_of(doc, name)
    bounds = None if not ci or None in ci else (float(ci[0]), float(ci[1]))
    return (None if value is None else float(value)), bounds


def strata_markdown(docs: dict[str, dict]) -> str:
    """Per model and leakage stratum (``by_stratum`` of each ``metrics.json``): n, match rate, RMSE, MAE, validity."""
    params = [Column.of(f"mae.{p}") for p in LATTICE_PARAMS]
    head = ["model", "stratum", "n", "matched", "match rate", "RMSE"]
    head += [f"{c.label} ({c.unit})" for c in params] + ["structural validity", "composition validity"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for label, doc in docs.items():
        for name, g in (doc.get("by_stratum") or {}).items():
            mae, validity = g.get("mae") or {}, g.get("validity") or {}
            cells = [_md_escape(label), name, str(g.get("n", DASH)), str(g.get("n_matched", DASH))]
            cells += [fmt(g.get("match_rate"), 3), fmt(g.get("rmse"), 4)]
            cells += [fmt(mae.get(c.name.split(".", 1)[1]), c.digits) for c in params]
            cells += [fmt(validity.get("structural"), 3), fmt(validity.get("composition"), 3)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

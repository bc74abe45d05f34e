"""Read predictions in every supported format into one :class:`Predictions` object.

Supported inputs (the ``target`` column of a leaderboard file is always ignored;
targets come from the benchmark itself; docs/inputs.md has an example of each):

* a leaderboard ``.csv`` / ``.csv.zip`` with header ``id,target,prediction``
  (POSCAR predictions with newlines escaped as ``\\n``, jarvis or pymatgen dialect);
* the toolkit's standardized predictions folder, or its ``predictions.csv``;
* a folder, or a ``.zip``, of CIF / POSCAR files named by id (``<id>.cif``,
  ``<id>.vasp``, ``<id>.poscar`` or ``<id>`` with no suffix);
* a JSON list of pymatgen ``Structure.as_dict()`` records with an ``id`` key;
* an ``.extxyz`` file, or any other file ASE reads, with ids in ``info["id"]``.

Files whose structures carry no ids (MatterGen's ``generated_crystals.extxyz``, its
``generated_crystals_cif.zip`` of ``gen_<i>.cif``) are read with ``in_test_order``:
structure i is the prediction for the benchmark's i-th test id.

Every problem of a file (bad rows, duplicate ids, several CIF blocks in one file) is
collected and raised as one :class:`InputError` naming the file and rows. A single
prediction that cannot be used becomes a recorded failure instead.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from atomgenbench.benchmarks.atomgen.predictions import CSV_HEADER as SAMPLES_HEADER
from atomgenbench.benchmarks.atomgen.predictions import CSV_NAME, JSON_NAME, Predictions, PredictionsFormatError
from atomgenbench.evaluator.inputs import formats
from atomgenbench.evaluator.inputs.formats import LEADERBOARD_HEADERS, STRUCTURE_SUFFIXES, InputError, Item, Problems

__all__ = [
    "LEADERBOARD_HEADERS",
    "STRUCTURE_SUFFIXES",
    "InputError",
    "assign_ids",
    "load_float_predictions",
    "load_predictions",
    "read_leaderboard_rows",
]

IN_ORDER_HINT = "--in-test-order"


def load_predictions(path: str | Path, benchmark: str, *, in_test_order: bool = False) -> Predictions:
    """Read predictions for ``benchmark`` from ``path`` (any supported format).

    Returns ``Predictions`` whose ``structures`` maps each id present in the input
    to POSCAR text with real newlines (``""`` for a failure) and whose ``failures``
    gives the reason of each failure. With ``in_test_order`` the i-th structure of
    the file is the prediction for the i-th test id of ``benchmark``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    order = _test_ids(benchmark) if in_test_order else None
    if (path.is_dir() and (path / CSV_NAME).is_file()) or path.name in (CSV_NAME, JSON_NAME) or _samples_csv(path):
        return _read_standardized(path, benchmark, order)
    problems = Problems(path)
    noun, items = _read_items(path, problems)
    samples = sorted({item.sample for item in items}) or [0]
    if samples != list(range(len(samples))):
        problems.add("", f"samples must be numbered 0 … K−1 (`<id>__s<k>` or info['sample']), got {samples[:10]}")
        problems.check()
    by_sample = []
    for s in samples:  # each sample is assigned ids on its own: --in-test-order maps within a sample
        group = [item for item in items if item.sample == s]
        by_sample.append(assign_ids(group, problems, noun=noun, benchmark=benchmark, order=order))
    (structures, failures), more = by_sample[0], by_sample[1:]
    if order is not None:
        check_order_compositions(structures, benchmark, path)
    return Predictions(
        benchmark=benchmark,
        model=model_label(path),
        structures=structures,
        failures=failures,
        samples=len(samples),
        more_samples={s: st for s, (st, _) in enumerate(more, start=1)},
        more_failures={s: fa for s, (_, fa) in enumerate(more, start=1)},
    )


def assign_ids(
    items: list[Item], problems: Problems, *, noun: str, benchmark: str, order: list[str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Map items to test ids: (id -> POSCAR text, id -> failure reason).

    The one place where ids are decided. With ``order`` (the benchmark's test ids,
    ``--in-test-order``) item i gets ``order[i]``, and an id the file itself gives
    must agree; without it each item must carry its id. Duplicates and missing ids
    are collected in ``problems``, which is raised at the end. Several samples per id
    (``<id>__s3.cif``, ``info["sample"]``) are split off by :func:`load_predictions`,
    which calls this once per sample.
    """
    keys: list[str | None] = [item.id for item in items]
    if order is not None and len(items) != len(order):
        keys = []
        problems.add(
            "",
            f"holds {len(items)} {noun}s but {benchmark} has {len(order)} test ids; --in-test-order maps "
            f"{noun} i to test id i, so the counts must be equal "
            f"(`atomgenbench data export {benchmark} --split test` lists the ids in order)",
            first=True,
        )
    elif order is not None:
        for position, (item, key) in enumerate(zip(items, order), start=1):
            if item.id is not None and not item.named and item.id != key:
                problems.add(item.where, f"carries id {item.id!r} but test id {position} of {benchmark} is {key!r}")
        keys = list(order)
    elif items and all(key is None for key in keys):
        problems.add(
            "",
            f"its {noun}s carry no ids (as in MatterGen's generated_crystals.extxyz); pass --in-test-order "
            f"to map {noun} i to the i-th test id of {benchmark}",
            first=True,
        )
    else:
        for item in items:
            if item.id is None:
                problems.add(item.where, f"no id (give every {noun} its id, or pass {IN_ORDER_HINT})")
    structures: dict[str, str] = {}
    failures: dict[str, str] = {}
    seen: dict[str, str] = {}
    for item, key in zip(items, keys):
        if key is None:
            continue
        if key in seen:
            problems.add(item.where, f"duplicate id {key!r} (also {seen[key]})")
            continue
        seen[key] = item.where
        structures[key] = item.text if not item.failure else ""
        if item.failure:
            failures[key] = f"{item.where}: {item.failure}" if noun != "row" else item.failure
    problems.check()
    return structures, failures


def load_float_predictions(path: str | Path) -> tuple[dict[str, float], dict[str, str]]:
    """Read a lattice-parameter leaderboard file: (id -> finite float, id -> failure reason)."""
    values: dict[str, float] = {}
    failures: dict[str, str] = {}
    for key, raw in read_leaderboard_rows(path).items():
        try:
            value = float(raw)
        except ValueError:
            failures[key] = f"prediction {raw!r} is not a number"
            continue
        if not math.isfinite(value):
            failures[key] = f"prediction {raw!r} is not finite"
            continue
        values[key] = value
    return values, failures


def read_leaderboard_rows(path: str | Path) -> dict[str, str]:
    """``id -> prediction`` (raw cell text) of a leaderboard ``.csv`` or single-member ``.csv.zip``.

    Every bad row and duplicate id of the file is reported in one :class:`InputError`.
    """
    return {key: pred for _, key, pred in formats.read_csv_rows(Path(path))}


def _read_items(path: Path, problems: Problems) -> tuple[str, list[Item]]:
    """(noun for messages, items) of a non-standardized input."""
    name = path.name.lower()
    if path.is_dir():
        files = formats.folder_files(path)
        if not files:
            raise InputError(f"{path}: no {CSV_NAME} and no CIF/POSCAR files named by id")
        return "file", formats.structure_file_items(files, problems)
    if name.endswith((".csv", ".csv.zip")):
        return "row", formats.csv_items(path)
    if name.endswith(".zip"):
        files = formats.zip_files(path)
        if not files:
            raise InputError(f"{path}: the zip holds no CIF/POSCAR files")
        return "file", formats.structure_file_items(files, problems)
    if name.endswith(".json"):
        return "record", formats.json_items(path, problems)
    if name.endswith((".extxyz", ".xyz")):
        return "frame", formats.extxyz_items(path, problems)
    return "frame", formats.ase_items(path, problems)


def _samples_csv(path: Path) -> bool:
    """A ``.csv`` of any name whose header is the standardized samples header ``id,sample,prediction``."""
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline(200).strip().lower()
    return first == ",".join(SAMPLES_HEADER)


def _read_standardized(path: Path, benchmark: str, order: list[str] | None) -> Predictions:
    try:
        preds = Predictions.read(path.parent if path.name == JSON_NAME else path, benchmark=benchmark)
    except PredictionsFormatError as exc:
        raise InputError(str(exc)) from None
    preds.benchmark = benchmark
    if order is not None:  # the ids are in the file; --in-test-order only checks their order
        csv_path = path / CSV_NAME if path.is_dir() else path.with_name(CSV_NAME)
        items = [Item(f"row {i}", key, text) for i, (key, text) in enumerate(preds.structures.items(), start=2)]
        assign_ids(items, Problems(csv_path), noun="row", benchmark=benchmark, order=order)
    return preds


def check_order_compositions(structures: dict[str, str], benchmark: str, path: Path) -> int:
    """``--in-test-order``'s sanity check: how many parsed structures have a formula other than their test id's.

    A structure generated for test id i has that crystal's composition (every model of AtomGenBench is
    given it). When more than half of the parsed structures disagree, the file is not in the test
    order, and scoring it would give a meaningless match rate: :class:`InputError`. Fewer are warned
    about, with a count.
    """
    from atomgenbench.benchmarks.atomgen.dataset import load_benchmark
    from atomgenbench.benchmarks.atomgen.structures import StructureParseError, parse_poscar
    from atomgenbench.core.output import log

    data = load_benchmark(benchmark)
    parsed, differ = 0, []
    for key, text in structures.items():
        try:
            formula = parse_poscar(text).composition.reduced_formula if text else None
        except StructureParseError:
            formula = None
        if formula is None:
            continue
        parsed += 1
        want = data.structure(key).composition.reduced_formula
        if formula != want:
            differ.append((key, formula, want))
    if not differ:
        return 0
    key, got, want = differ[0]
    example = f"e.g. the structure mapped to {key} is {got}, that test crystal is {want}"
    if len(differ) * 2 > parsed:
        raise InputError(
            f"{path}: --in-test-order maps structure i to test id i, but {len(differ)} of {parsed} parsed "
            f"structures have another composition than their test id ({example}): the file is not in the "
            f"test order of {benchmark} (`atomgenbench data export {benchmark} --split test` lists it)"
        )
    log.warning(
        "%s: %d of %d structures mapped by --in-test-order have another composition than their test id (%s)",
        path,
        len(differ),
        parsed,
        example,
    )
    return len(differ)


def _test_ids(benchmark: str) -> list[str]:
    from atomgenbench.benchmarks.atomgen.dataset import test_ids

    return test_ids(benchmark)


#: the file suffix of a leaderboard contribution file
SUFFIX = ".csv.zip"


def model_label(path: str | os.PathLike) -> str:
    """A model label from a predictions path: the contribution folder of a leaderboard file, else the name.

    ``.../cdvae_invatoms/AI-...csv.zip`` and ``.../runs/cdvae/predictions.csv`` give the folder's
    name; any other file its stem; a folder its name.
    """
    path = Path(path)
    if path.is_file() and path.name.endswith(SUFFIX):
        return path.parent.name
    if path.name in ("predictions.csv", "predictions.json"):
        return path.parent.name
    return path.stem if path.is_file() else path.name

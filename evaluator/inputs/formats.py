"""Readers of every predictions format, each turning a file into a list of :class:`Item`.

A reader never decides which test id an item belongs to; it reports the id the file
carries (or ``None``) and where the item sits. :func:`atomgenbench.evaluator.inputs.load.assign_ids`
maps items to ids in one place. A problem of the file (a row with the wrong number of
fields, a CIF with several data blocks, a duplicate id) goes to :class:`Problems`, which
collects all of them and raises one :class:`InputError`; a structure that cannot be used
(NaN, no cell, unknown element) becomes an item with a ``failure`` reason instead.
"""

from __future__ import annotations

import io
import json
import math
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

from atomgenbench.benchmarks.atomgen.limits import cif_site_problem
from atomgenbench.benchmarks.atomgen.predictions import LEADERBOARD_HEADERS, parse_csv
from atomgenbench.benchmarks.atomgen.structures import to_poscar, unescape
from atomgenbench.core.archives import MAX_MEMBER_BYTES, ArchiveTooLarge, read_member, read_members
from atomgenbench.core.errors import PredictionsError

STRUCTURE_SUFFIXES = {".cif", ".vasp", ".poscar", ".txt", ""}
#: keys of an ASE frame's ``info`` that name its id, in order of preference
ID_KEYS = ("id", "material_id", "name")
#: problems listed in one error message; the rest are counted
MAX_LISTED = 20


class InputError(PredictionsError):
    """A predictions input that cannot be read (message names file, row and problem)."""


@dataclass
class Item:
    """One prediction as a file holds it.

    ``where`` locates it for messages ("row 3", "frame 2", "file gen_0.cif"); ``id``
    is the id the file gives it (``None`` when the format carries none); ``named``
    marks an id taken from a file name, which ``--in-test-order`` overrides; ``text``
    is POSCAR text with real newlines, ``""`` when ``failure`` says why it is unusable;
    ``sample`` numbers several structures of one id (``<id>__s3.cif``, ``info["sample"]``).
    """

    where: str
    id: str | None
    text: str
    failure: str | None = None
    named: bool = False
    sample: int = 0


#: ``<id>__s<k>``: sample k of id (file names of several structures per id)
SAMPLE_NAME = re.compile(r"^(?P<id>.+)__s(?P<sample>\d+)$")


def split_sample(key: str) -> tuple[str, int]:
    """``("JVASP-1", 3)`` for ``"JVASP-1__s3"``; a name without the suffix is sample 0."""
    m = SAMPLE_NAME.match(key)
    return (m["id"], int(m["sample"])) if m else (key, 0)


def _sample_of(where: str, value, problems: Problems) -> int:
    """A sample number from a file's metadata (``info["sample"]``, a JSON ``sample``); bad values: a problem."""
    if value is None:
        return 0
    if isinstance(value, bool) or not str(value).strip().isdigit():
        problems.add(where, f"'sample' must be a whole number ≥ 0, got {value!r}")
        return 0
    return int(str(value).strip())


class Problems:
    """Every problem of one input file, raised together as one :class:`InputError`."""

    def __init__(self, source: Path, limit: int = MAX_LISTED) -> None:
        self.source = source
        self.limit = limit
        self.items: list[str] = []

    def add(self, where: str, message: str, *, first: bool = False) -> None:
        """Record one problem; ``first`` puts a problem of the whole file before the rest."""
        self.items.insert(0 if first else len(self.items), f"{where}: {message}" if where else message)

    def __bool__(self) -> bool:
        return bool(self.items)

    def message(self) -> str:
        if len(self.items) == 1:
            return f"{self.source}: {self.items[0]}"
        shown = "\n".join(f"  {p}" for p in self.items[: self.limit])
        more = f"\n  ... and {len(self.items) - self.limit} more" if len(self.items) > self.limit else ""
        return f"{self.source}: {len(self.items)} problems:\n{shown}{more}"

    def check(self) -> None:
        if self.items:
            raise InputError(self.message())


# --------------------------------------------------------------------------- CSV


def read_csv_text(path: Path) -> str:
    """Text of a ``.csv`` or of the single CSV member of a ``.csv.zip``."""
    try:
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                members = [m for m in zf.namelist() if not m.endswith("/")]
                if len(members) != 1:
                    raise InputError(f"{path}: a .csv.zip must hold exactly one CSV member, found {members}")
                data = read_member(zf, members[0])
        else:
            if path.stat().st_size > MAX_MEMBER_BYTES:
                raise InputError(
                    f"{path}: {path.stat().st_size:,} bytes, over the {MAX_MEMBER_BYTES:,}-byte input limit"
                )
            data = path.read_bytes()
        return data.decode("utf-8-sig")
    except ArchiveTooLarge as exc:
        raise InputError(f"{path}: {exc} (docs/inputs.md, Input limits)") from None
    except zipfile.BadZipFile:
        raise InputError(f"{path}: not a zip archive") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder; expected a leaderboard .csv/.csv.zip (id,target,prediction)") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc})") from None


def read_csv_rows(path: Path, headers=LEADERBOARD_HEADERS) -> list[tuple[str, str, str]]:
    """``(where, id, raw prediction cell)`` of every data row of a leaderboard-style CSV.

    Read with the toolkit's one CSV reader (:func:`parse_csv`, lenient mode, as the
    leaderboard's pandas reader is); every bad row and duplicate id is raised at once.
    """
    table = parse_csv(read_csv_text(path), str(path), headers=headers, lenient=True)
    table.raise_errors(InputError)
    return [(f"row {row.line}", row.id, row.prediction) for row in table.rows]


def csv_items(path: Path) -> list[Item]:
    items = []
    for where, key, pred in read_csv_rows(path):
        text = unescape(pred) if pred.strip() else ""
        items.append(Item(where, key, text, None if text else "empty prediction"))
    return items


# --------------------------------------------------------------------------- CIF / POSCAR files


def natural_key(name: str) -> list:
    """Sort key that puts ``gen_2`` before ``gen_10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def structure_file_items(files: list[tuple[str, str]], problems: Problems) -> list[Item]:
    """Items of ``(file name, text)`` pairs named by id, in natural name order."""
    items = []
    for name, text in sorted(files, key=lambda f: natural_key(f[0])):
        suffix = Path(name).suffix.lower()
        key, sample = split_sample(Path(name).stem if suffix else Path(name).name)
        where = f"file {name}"
        if suffix == ".cif":
            item = _cif_item(where, key, text, problems)
        else:
            item = Item(where, key, rescale_negative_scale(text))
        if item is not None:
            item.named = True
            item.sample = sample
            items.append(item)
    return items


def folder_files(folder: Path) -> list[tuple[str, str]]:
    paths = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    return [
        (p.name, p.read_text(encoding="utf-8", errors="replace"))
        for p in paths
        if p.suffix.lower() in STRUCTURE_SUFFIXES
    ]


def zip_files(path: Path) -> list[tuple[str, str]]:
    """CIF/POSCAR members of a zip (MatterGen's ``generated_crystals_cif.zip``), by base name."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [m for m in zf.namelist() if not m.endswith("/") and not Path(m).name.startswith(".")]
            names = [m for m in names if Path(m).suffix.lower() in STRUCTURE_SUFFIXES]
            texts = read_members(zf, names)
            return [(Path(m).name, data.decode("utf-8", errors="replace")) for m, data in zip(names, texts)]
    except ArchiveTooLarge as exc:
        raise InputError(f"{path}: {exc} (docs/inputs.md, Input limits)") from None
    except zipfile.BadZipFile:
        raise InputError(f"{path}: not a zip archive") from None


def _cif_item(where: str, key: str, text: str, problems: Problems) -> Item | None:
    from pymatgen.core import Structure
    from pymatgen.io.cif import CifFile

    try:
        blocks = CifFile.from_str(text).data
    except Exception as exc:  # pymatgen raises assorted errors on bad CIFs
        return Item(where, key, "", f"unreadable CIF ({type(exc).__name__}: {exc})")
    with_atoms = [n for n, b in blocks.items() if "_atom_site_fract_x" in b.data or "_atom_site_Cartn_x" in b.data]
    if len(with_atoms) > 1:
        problems.add(
            where,
            f"holds {len(with_atoms)} CIF data blocks with atoms ({', '.join('data_' + n for n in with_atoms[:5])}); "
            "give one structure per file, named by its id",
        )
        return None
    too_big = cif_site_problem(blocks[with_atoms[0]].data) if with_atoms else None
    if too_big:
        return Item(where, key, "", too_big)
    with warnings.catch_warnings(record=True) as caught:  # pymatgen gives its reasons as warnings
        warnings.simplefilter("always")
        try:
            return Item(where, key, to_poscar(Structure.from_str(text, fmt="cif")))
        except Exception as exc:  # pymatgen raises assorted errors on bad CIFs
            notes = dict.fromkeys(line.strip() for w in caught for line in str(w.message).splitlines()[-1:])
            detail = f"; pymatgen: {'; '.join(n for n in notes if n)}" if notes else ""
            return Item(where, key, "", f"unreadable CIF ({type(exc).__name__}: {exc}{detail})")


def rescale_negative_scale(text: str) -> str:
    """A POSCAR whose scale factor is negative (VASP: the cell volume) rewritten with scale 1.0.

    Other text is returned unchanged; an unusable header is left for the parser to report.
    """
    lines = text.splitlines()
    try:
        scale = float(lines[1].split()[0]) if len(lines[1].split()) == 1 else 1.0
        if not (scale < 0 and math.isfinite(scale)):
            return text
        import numpy as np

        lattice = np.array([[float(x) for x in line.split()[:3]] for line in lines[2:5]])
        factor = (-scale / abs(float(np.linalg.det(lattice)))) ** (1 / 3)
    except (IndexError, ValueError, ZeroDivisionError):
        return text
    if not math.isfinite(factor):
        return text
    rows = [" ".join(f"{factor * x:.10f}" for x in vec) for vec in lattice]
    return "\n".join([lines[0], "1.0", *rows, *lines[5:]]) + "\n"


# --------------------------------------------------------------------------- pymatgen JSON


def json_items(path: Path, problems: Problems) -> list[Item]:
    """A JSON list of ``Structure.as_dict()`` records with an ``id`` key.

    A record may also be ``{"id": ..., "structure": Structure.as_dict()}`` (what
    ``data export --format json`` writes).
    """
    from pymatgen.core import Structure

    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON ({exc})") from None
    except RecursionError:
        raise InputError(f"{path}: invalid JSON (nested too deeply)") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc})") from None
    if not isinstance(records, list):
        raise InputError(
            f"{path}: expected a JSON list of pymatgen Structure.as_dict() records with an 'id' key, "
            f"got a JSON {type(records).__name__}"
        )
    items = []
    for index, record in enumerate(records, start=1):
        where = f"record {index}"
        if not isinstance(record, dict):
            problems.add(where, f"expected a JSON object, got {type(record).__name__}")
            continue
        key = record.get("id")
        if key is not None and (isinstance(key, bool) or not isinstance(key, (str, int))):
            problems.add(where, f"'id' must be a string, got {key!r}")
            continue
        key = None if key is None else str(key)
        sample = _sample_of(where, record.get("sample"), problems)
        struct = record.get("structure", record)
        if not isinstance(struct, dict) or "lattice" not in struct or "sites" not in struct:
            why = "not a pymatgen Structure.as_dict() (needs 'lattice' and 'sites')"
            items.append(Item(where, key, "", why, sample=sample))
            continue
        try:
            items.append(Item(where, key, to_poscar(Structure.from_dict(struct)), sample=sample))
        except Exception as exc:  # pymatgen raises assorted errors on bad dicts
            items.append(Item(where, key, "", f"unusable structure ({type(exc).__name__}: {exc})", sample=sample))
    return items


# --------------------------------------------------------------------------- ASE


def atoms_item(where: str, key: str | None, atoms) -> Item:
    """An item for one ASE ``Atoms`` frame (``failure`` when it is not a periodic crystal)."""
    from pymatgen.io.ase import AseAtomsAdaptor

    if atoms.cell.rank < 3:
        return Item(where, key, "", "frame has no 3-D cell (no Lattice= in an extxyz comment line)")
    try:
        return Item(where, key, to_poscar(AseAtomsAdaptor.get_structure(atoms)))
    except Exception as exc:  # pymatgen/jarvis raise assorted errors on odd frames
        return Item(where, key, "", f"unusable frame ({type(exc).__name__}: {exc})")


def _info_id(comment: str, info: dict) -> str | None:
    """The frame's id, taken verbatim from the comment line (ASE turns ``id=0123`` into 123)."""
    for k in ID_KEYS:
        m = re.search(rf'(?:^|\s){k}\s*=\s*(?:"([^"]*)"|(\S+))', comment)
        if m:
            return m.group(1) if m.group(1) is not None else m.group(2)
        if k in info:
            return str(info[k])
    return None


def extxyz_items(path: Path, problems: Problems) -> list[Item]:
    """Frames of an (ext)xyz file, each parsed on its own by ASE so one bad frame fails alone."""
    from ase.io import read
    from ase.io.extxyz import key_val_str_to_dict

    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc})") from None
    items, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        where = f"frame {len(items) + 1} (line {i + 1})"
        try:
            natoms = int(lines[i].split()[0])
        except ValueError:
            problems.add(f"line {i + 1}", f"expected the atom count that starts a frame, got {lines[i].strip()!r}")
            break
        if i + 2 + natoms > len(lines):
            problems.add(where, f"file ends inside the frame ({natoms} atoms announced)")
            break
        comment = lines[i + 1].strip()
        chunk = "".join(lines[i : i + 2 + natoms])
        i += 2 + natoms
        try:
            info = key_val_str_to_dict(comment)
        except Exception:  # a comment line that is not key=value pairs
            info = {}
        key = _info_id(comment, info)
        sample = _sample_of(where, info.get("sample"), problems)
        try:
            atoms = read(io.StringIO(chunk), format="extxyz")
        except KeyError as exc:  # ASE's symbol lookup
            items.append(Item(where, key, "", f"unknown element symbol {exc.args[0]!r}", sample=sample))
            continue
        except Exception as exc:  # ValueError for bad numbers, and assorted others
            items.append(Item(where, key, "", f"unreadable frame ({type(exc).__name__}: {exc})", sample=sample))
            continue
        item = atoms_item(where, key, atoms)
        item.sample = sample
        items.append(item)
    return items


def _db_frames(path: Path) -> list:
    """The rows of an ASE database, each with its key-value pairs (``material_id``, ``name``, ...) in ``info``.

    ``ase.io.read`` drops them, so a database's ids would be lost.
    """
    from ase.db import connect

    frames = []
    for row in connect(str(path)).select():
        atoms = row.toatoms()
        atoms.info.update(row.key_value_pairs)
        frames.append(atoms)
    return frames


def _check_cif_sizes(path: Path) -> None:
    """Refuse a CIF file with a data block over the site limit before ASE builds its frames."""
    from pymatgen.io.cif import CifFile

    try:
        blocks = CifFile.from_str(path.read_text(encoding="utf-8", errors="replace")).data
    except Exception:  # noqa: BLE001 - let ASE give its own reason for a malformed CIF
        return
    for name, block in blocks.items():
        problem = cif_site_problem(block.data)
        if problem:
            raise InputError(f"{path}: data block 'data_{name}': {problem}")


def ase_items(path: Path, problems: Problems | None = None) -> list[Item]:
    """Frames of any other file ASE can read (``ase.io.read(path, index=":")``)."""
    from ase.io import read
    from ase.io.formats import UnknownFileTypeError

    if path.suffix.lower() == ".cif":
        _check_cif_sizes(path)
    try:
        frames = _db_frames(path) if path.suffix.lower() == ".db" else read(str(path), index=":")
    except UnknownFileTypeError:
        raise InputError(
            f"{path}: unsupported input; expected a leaderboard .csv/.csv.zip, a predictions folder, a folder or "
            "zip of CIF/POSCAR files, a JSON list of pymatgen structures, an .extxyz file or another file ASE reads"
        ) from None
    except Exception as exc:  # ASE raises assorted errors on malformed files
        raise InputError(f"{path}: ASE cannot read it ({type(exc).__name__}: {exc})") from None
    items = []
    for n, atoms in enumerate(frames, start=1):
        item = atoms_item(f"frame {n}", _info_id("", atoms.info), atoms)
        item.sample = _sample_of(item.where, atoms.info.get("sample"), problems or Problems(path))
        items.append(item)
    return items

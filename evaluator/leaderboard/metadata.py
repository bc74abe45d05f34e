"""``metadata.json`` of a contribution: its JSON Schema, the checks, placeholders, folder names.

The schema is ``evaluator/leaderboard/metadata.schema.json`` (JSON Schema draft 2020-12,
published in docs/metadata.md). :func:`check_metadata` validates against it with
:mod:`jsonschema` and a :class:`jsonschema.FormatChecker` (``email``, ``uri`` through
``rfc3986-validator``, and our ``mm-dd-yyyy``), and turns each violation into one
message that names the field. What the leaderboard's build reads is an error; what it
tolerates (unknown fields, odd ``time_taken_seconds`` values, template placeholders,
missing optional fields) is a warning.

:func:`normalize_metadata` makes YAML input (``package --metadata``) fit: an unquoted
YAML date such as ``date_submitted: 2026-01-31`` becomes ``"01-31-2026"``; a date in a
field that is not a date is refused with a message, never shown as ``datetime.date(...)``.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources

import jsonschema

from atomgenbench.core.errors import ValidationError

DATE_FIELDS = ("date_submitted", "database_version")
URL_FIELDS = ("project_url", "paper_url")
#: string fields the leaderboard reads (errors when missing or empty)
REQUIRED_STR_FIELDS = ("model_name", "team_name", "author_email", "project_url", "software_used", "hardware_used")
OPTIONAL_STR_FIELDS = ("database_version", "language", "os")
DATE_RE = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$")
#: what `metadata init` writes for a value nobody gave, and what people type for "fill in later"
PLACEHOLDER_RE = re.compile(
    r"^\s*<.*>\s*$"
    r"|\b(TODO|TBD|FIXME|XXX+|CHANGE[ _-]?ME|REPLACE[ _-]?ME|FILL[ _-]?IN|your[ _-](name|e-?mail|team|model))\b",
    re.IGNORECASE,
)
#: host names reserved for examples (RFC 2606 / RFC 6761)
EXAMPLE_HOST_RE = re.compile(
    r"(^|[@./])(example\.(com|org|net)|[^@/\s]+\.(example|invalid|test|localhost))(\W|$)", re.IGNORECASE
)
FOLDER_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@cache
def metadata_schema() -> dict:
    """The JSON Schema of metadata.json (package data)."""
    text = (
        resources.files("atomgenbench.evaluator.leaderboard")
        .joinpath("metadata.schema.json")
        .read_text(encoding="utf-8")
    )
    return json.loads(text)


def check_date(value: str, field: str = "date_submitted") -> str | None:
    """``None`` for a valid MM-DD-YYYY date, else the problem."""
    m = DATE_RE.match(value)
    if not m:
        return f"{field} {value!r} is not MM-DD-YYYY"
    month, day, year = (int(g) for g in m.groups())
    try:
        _dt.date(year, month, day)
    except ValueError as exc:
        return f"{field} {value!r} is not a valid MM-DD-YYYY date ({exc})"
    return None


def format_checker() -> jsonschema.FormatChecker:
    """jsonschema's format checker plus ``mm-dd-yyyy`` (a real calendar date written MM-DD-YYYY)."""
    checker = jsonschema.FormatChecker()

    @checker.checks("mm-dd-yyyy")
    def _mm_dd_yyyy(value: object) -> bool:
        # the shape is the pattern's job; the format adds "is it a real day"
        return not isinstance(value, str) or not DATE_RE.match(value) or check_date(value) is None

    return checker


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = metadata_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=format_checker())


def show(value: object, limit: int = 80) -> str:
    """A value as JSON text for a message (a date shows as its ISO text, never as a Python repr)."""
    text = json.dumps(value, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _date_text(value: _dt.date) -> str:
    return value.strftime("%m-%d-%Y")


def normalize_metadata(meta: Mapping) -> dict:
    """Metadata read from YAML, with unquoted dates in date fields written as ``MM-DD-YYYY``.

    Raises :class:`ValidationError` for a YAML date in any other field.
    """
    out = dict(meta)
    for key, value in meta.items():
        if isinstance(value, _dt.date):
            if key not in DATE_FIELDS:
                raise ValidationError(
                    f"metadata field {key!r} was read as a date ({value.isoformat()}); quote it in the YAML file"
                )
            out[key] = _date_text(value)
    return out


def _unknown_fields(meta: Mapping) -> list[str]:
    schema = metadata_schema()
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return [k for k in meta if k not in schema["properties"] and not any(p.search(str(k)) for p in patterns)]


def _message(error: jsonschema.ValidationError, meta: Mapping) -> tuple[str, str] | None:
    """(severity, message) for one schema violation; ``None`` when another message covers it."""
    path = list(error.path)
    if not path:
        return None  # required / additionalProperties: reported field by field below
    key = str(path[0])
    value = meta.get(key)
    if isinstance(value, _dt.date):
        return "error", f"{key} is a date object ({value.isoformat()}); write it as the string {_date_text(value)!r}"
    if key == "time_taken_seconds":
        if len(path) == 1 and error.validator == "type":
            return "error", f"time_taken_seconds must be an object keyed by csv.zip file name, got {show(value)}"
        if "propertyNames" in error.schema_path:
            return "warning", f"time_taken_seconds key {show(error.instance)} is not a csv.zip file name"
        return "warning", (
            f'time_taken_seconds[{path[1]!r}] is {show(error.instance)}: values must be seconds (a number) or ""'
        )
    if key == "author_email" and error.validator != "type":
        return "error", f"author_email {show(value)} is not an email address"
    if key in URL_FIELDS and error.validator != "type":
        return "error", f"{key} {show(value)} is not an http(s) URL"
    if key in DATE_FIELDS and error.validator != "type":
        return "error", check_date(value, key) if isinstance(value, str) else f"{key} is not MM-DD-YYYY"
    if key == "git_url":
        if len(path) == 1:
            return "error", f"git_url must be a list of URL strings, got {show(value)}"
        return "error", f"git_url[{path[1]}] {show(error.instance)} is not an http(s) URL"
    if key in REQUIRED_STR_FIELDS:
        return "error", f"field {key!r} must be a non-empty string, got {show(value)}"
    if error.validator == "type":
        return "error", f"field {key!r} must be a {error.validator_value}, got {show(value)}"
    return "error", f"{'.'.join(map(str, path))}: {error.message}"


def schema_problems(meta: Mapping) -> tuple[list[str], list[str]]:
    """(errors, warnings) of ``meta`` against the schema, one message per problem, each naming its field."""
    errors: list[str] = []
    warnings: list[str] = []
    required = metadata_schema()["required"]
    errors += [f"required field {k!r} is missing" for k in required if k not in meta]
    for error in _validator().iter_errors(dict(meta)):
        found = _message(error, meta)
        if found is None:
            continue
        target = errors if found[0] == "error" else warnings
        if found[1] not in target:
            target.append(found[1])
    errors += markup_problems(meta)
    unknown = _unknown_fields(meta)
    if unknown:
        warnings.append(
            f"unknown field(s) {', '.join(map(repr, unknown))}: the leaderboard ignores them "
            "(see docs/metadata.md for the fields it reads)"
        )
    return errors, warnings


#: characters a rendered text field may not hold: markup, and control characters
MARKUP_RE = re.compile(r"[<>]|[\x00-\x1f\x7f]")


def markup_problems(meta: Mapping) -> list[str]:
    """One error per text value holding ``<``, ``>`` or a control character, naming the field.

    The leaderboard renders metadata values (model and team names, URLs, software and hardware)
    into its web pages: a value with HTML or script in it would run in every reader's browser.
    """
    errors = []
    for key, value in meta.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and (found := MARKUP_RE.search(item)):
                char = found.group()
                what = f"{char!r} (HTML or script markup)" if char in "<>" else "a control character"
                errors.append(
                    f"field {key!r} holds {what}: the leaderboard renders it into its web pages; "
                    f"remove it (value starts {item[:40]!r})"
                )
                break
    return errors


def placeholder_fields(meta: Mapping) -> list[tuple[str, str]]:
    """(field, value) of every value that is still a template placeholder or an example address."""
    found = []
    for key, value in meta.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and (PLACEHOLDER_RE.search(item) or EXAMPLE_HOST_RE.search(item)):
                found.append((str(key), item))
    return found


def contribution_name(text: str) -> str:
    """A leaderboard folder name for ``text``: lower case, runs of other characters as ``_``."""
    name = re.sub(r"[^a-z0-9_.-]+", "_", text.lower()).strip("_.-")
    return name or "contribution"


def folder_name_warning(name: str) -> str | None:
    """A warning for a folder name with capitals, spaces or other characters, with a suggested name."""
    if FOLDER_RE.match(name):
        return None
    return (
        f"folder name {name!r} has capitals, spaces or other characters: it becomes the model's name and its "
        f"link on the leaderboard; suggested name: {contribution_name(name)!r}"
    )


def _optional_warnings(meta: Mapping) -> list[str]:
    warnings = [f"optional field {k!r} is missing" for k in OPTIONAL_STR_FIELDS if k not in meta]
    date = meta.get("date_submitted")
    if isinstance(date, str) and check_date(date) is None and not re.match(r"^\d{2}-\d{2}-\d{4}$", date):
        warnings.append(f"date_submitted {date!r} is not zero-padded (MM-DD-YYYY)")
    for key, value in placeholder_fields(meta):
        warnings.append(f"{key} {show(value)} looks like a placeholder or an example address: replace it")
    return warnings


def _time_taken_warnings(meta: Mapping, csv_files: set[str]) -> list[str]:
    value = meta.get("time_taken_seconds")
    if not isinstance(value, dict):
        return []
    warnings = []
    stray = sorted(set(value) - csv_files)
    missing = sorted(csv_files - set(value))
    empty = sorted(k for k in csv_files & set(value) if value[k] == "")
    if stray:
        warnings.append(
            f"time_taken_seconds names {len(stray)} file(s) not in this folder "
            f"(copied metadata?): {', '.join(stray[:3])}" + (" ..." if len(stray) > 3 else "")
        )
    if missing:
        warnings.append(
            f"time_taken_seconds has no entry for {len(missing)} file(s) of this folder: "
            f"{', '.join(missing[:3])}" + (" ..." if len(missing) > 3 else "")
        )
    if empty:
        warnings.append(
            f'time_taken_seconds is "" for {len(empty)} file(s) of this folder: set the seconds with '
            "`atomgenbench package --time-taken FILE=SECONDS`"
        )
    return warnings


def check_metadata(
    meta: Mapping, csv_files: Iterable[str], *, folder_name: str | None = None
) -> tuple[list[str], list[str]]:
    """Check metadata against the schema and this folder's files; return (errors, warnings).

    Errors: a field the leaderboard reads is missing or has the wrong type or format
    (e-mail, http(s) URLs, MM-DD-YYYY dates, git_url a list). Warnings: unknown fields,
    placeholders, non-padded dates, ``time_taken_seconds`` keyed by other files or left
    ``""``, missing optional fields, and (given ``folder_name``) a folder name that is not
    lower-case.
    """
    errors, warnings = schema_problems(meta)
    warnings += _optional_warnings(meta)
    warnings += _time_taken_warnings(meta, set(csv_files))
    if folder_name is not None:
        problem = folder_name_warning(folder_name)
        warnings += [problem] if problem else []
    return errors, warnings


def byline(model_name: str, team_name: str | None) -> str:
    """``MODEL by TEAM``, or the model name alone when the team name is the model name (its default)."""
    return model_name if not team_name or team_name == model_name else f"{model_name} by {team_name}"

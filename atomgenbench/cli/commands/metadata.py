"""``atomgenbench metadata``: write a metadata YAML for ``package --metadata``, show the schema."""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path

import click

from atomgenbench.cli.options import emit, json_option, metadata_options

#: (field, prompt, placeholder written when nobody gives a value)
ASKED = (
    ("model_name", "Model name (shown on the leaderboard)", "<model name>"),
    ("team_name", "Team name", None),
    ("author_email", "Contact e-mail", "<you@your-institute.org>"),
    ("project_url", "Paper or project URL (http/https)", "<https://link-to-your-paper-or-project>"),
    ("git_url", "Code repository URLs (comma-separated, may be empty)", None),
    ("hardware_used", "Hardware (e.g. 1 NVIDIA A100 GPU, 16 CPU cores)", "<hardware the model ran on>"),
    ("software_used", "Software (comma-separated packages)", None),
    ("date_submitted", "Date submitted (MM-DD-YYYY)", None),
)
OPTIONAL = ("database_version", "language", "os")


def _is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _problem(field: str, value: object) -> str | None:
    """The schema's complaint about one field's value, if any."""
    from atomgenbench.evaluator.leaderboard.metadata import schema_problems

    errors, _ = schema_problems({field: value})
    mine = [e for e in errors if field in e and not e.startswith("required field")]
    return mine[0] if mine else None


def _prompt(field: str, text: str, default: object) -> object:
    def convert(raw: str) -> object:
        value: object = [u.strip() for u in raw.split(",") if u.strip()] if field == "git_url" else raw.strip()
        problem = _problem(field, value)
        if problem:
            raise click.BadParameter(problem)
        return value

    shown = ", ".join(default) if isinstance(default, list) else default
    if field == "git_url":  # may stay empty
        shown = shown or ""
    elif shown == "":
        shown = None
    return click.prompt(text, default=shown, value_proc=convert)


def _defaults(values: dict) -> dict:
    from atomgenbench.evaluator.submission.package import METADATA_DEFAULTS

    return {
        "team_name": values.get("model_name"),
        "git_url": [],
        "software_used": METADATA_DEFAULTS["software_used"],
        "date_submitted": _dt.date.today().strftime("%m-%d-%Y"),
        **{k: METADATA_DEFAULTS[k] for k in OPTIONAL},
    }


def template_text(values: dict) -> str:
    """The YAML file: each field with the schema's description as a comment."""
    import yaml

    from atomgenbench.evaluator.leaderboard.metadata import metadata_schema

    props = metadata_schema()["properties"]
    lines = [
        "# Metadata of a JARVIS-Leaderboard contribution, read by `atomgenbench package --metadata FILE`.",
        "# Fields and formats: docs/metadata.md (JSON Schema: evaluator/leaderboard/metadata.schema.json).",
        "# Replace every <...> placeholder: `validate` warns about them and `submit` refuses them.",
    ]
    for field, value in values.items():
        lines += ["", f"# {props[field]['description']}", yaml.safe_dump({field: value}, sort_keys=False).rstrip()]
    lines += [
        "",
        f"# {props['time_taken_seconds']['description']}",
        "# `package` fills it from the run's recorded timings; set it with `package --time-taken FILE=SECONDS`",
        "# or here, e.g.:",
        "# time_taken_seconds:",
        "#   AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip: 3600",
    ]
    return "\n".join(lines) + "\n"


@click.group(name="metadata", context_settings={"help_option_names": ["-h", "--help"]})
def metadata() -> None:
    """Write and inspect contribution metadata (the YAML that `package --metadata` reads)."""


@metadata.command(name="init")
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("metadata.yaml"),
    show_default=True,
    help="The YAML file to write.",
)
@metadata_options
@click.option("--no-input", is_flag=True, help="Never prompt, even on a terminal.")
@click.option("--force", is_flag=True, help="Replace an existing file.")
@json_option("the file and the fields still to fill in")
def init(out: Path, no_input: bool, force: bool, as_json: bool, **options) -> None:
    """Write a filled-in metadata YAML for `atomgenbench package --metadata`.

    On a terminal it asks for every field not given as an option (checking each answer
    against the schema); otherwise it takes the options, and writes a <...> placeholder
    for a required field that none gave (fill those in before packaging).

    Example: atomgenbench metadata init --model-name MyCDVAE --author-email me@uni.edu
    --project-url https://arxiv.org/abs/2110.06197 --hardware-used "1 A100 GPU" --no-input
    """
    from atomgenbench.evaluator.submission.package import PackageError

    if out.exists() and not force:
        raise PackageError(f"{out} already exists; pass --force to replace it")
    given = {**options, "os": options.pop("os_")}
    given["git_url"] = list(given["git_url"]) or None
    for field, value in given.items():
        problem = None if value is None else _problem(field, value)
        if problem:
            raise click.BadParameter(problem, param_hint=f"--{field.replace('_', '-')}")
    interactive = _is_interactive() and not no_input
    values: dict = {}
    for field, text, placeholder in ASKED:
        value = given.get(field)
        default = _defaults(values).get(field)
        if value is None and interactive:
            value = _prompt(field, text, default)
        values[field] = value if value is not None else (default if default is not None else placeholder)
    for field in OPTIONAL:
        values[field] = given.get(field) or _defaults(values)[field]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        from atomgenbench.core.io import atomic_write_text

        atomic_write_text(out, template_text(values))
    except OSError as exc:
        raise PackageError(f"{out}: cannot write the metadata file ({exc.strerror or exc})") from None
    todo = [f for f, v in values.items() if isinstance(v, str) and v.startswith("<")]
    lines = [f"fill in: {', '.join(todo)}"] if todo else []
    notes = [f"wrote {out}", f"next: atomgenbench package --dft-3d ... --alex ... --metadata {out}"]
    emit(as_json, {"out": str(out), "fill_in": todo, "values": values}, lines, notes)


@metadata.command(name="schema")
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of metadata.json."""
    from atomgenbench.evaluator.leaderboard.metadata import metadata_schema

    click.echo(json.dumps(metadata_schema(), indent=2))

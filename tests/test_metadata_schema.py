"""metadata.json: the JSON Schema, the checks that name the field, YAML dates, placeholders, `metadata init`."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from atomgenbench.cli import cli
from atomgenbench.evaluator.leaderboard.metadata import (
    check_metadata,
    contribution_name,
    folder_name_warning,
    metadata_schema,
    normalize_metadata,
    placeholder_fields,
)

REPO = Path(__file__).resolve().parents[1]
SCHEMA_FILE = REPO / "evaluator" / "leaderboard" / "metadata.schema.json"
RMSE = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
GOOD = {
    "model_name": "CDVAE",
    "team_name": "Crystal Lab",
    "author_email": "lab@uni-crystal.edu",
    "project_url": "https://arxiv.org/abs/2110.06197",
    "git_url": ["https://github.com/crystal-lab/cdvae"],
    "date_submitted": "01-31-2026",
    "time_taken_seconds": {RMSE: 12.5},
    "software_used": "atomgenbench,pymatgen",
    "hardware_used": "1 CPU",
    "database_version": "08-08-2025",
    "language": "python",
    "os": "linux",
}


def test_the_schema_is_draft_2020_12_and_states_every_field():
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema == metadata_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    props = schema["properties"]
    read_by_leaderboard = {"author_email", "project_url", "git_url", "model_name", "team_name"}
    read_by_leaderboard |= {"time_taken_seconds", "software_used", "hardware_used", "date_submitted"}
    assert set(schema["required"]) == read_by_leaderboard
    assert props["author_email"]["format"] == "email" and props["project_url"]["format"] == "uri"
    assert props["git_url"]["type"] == "array" and props["git_url"]["items"]["format"] == "uri"
    assert props["date_submitted"]["format"] == "mm-dd-yyyy" and props["time_taken_seconds"]["type"] == "object"
    assert all(p.get("description") for p in props.values())
    # the uri format is only checked when rfc3986-validator is installed: it is a dependency
    assert "uri" in jsonschema.FormatChecker().checkers


def test_a_generic_validator_accepts_good_metadata_and_rejects_bad_urls():
    validator = jsonschema.Draft202012Validator(metadata_schema(), format_checker=jsonschema.FormatChecker())
    assert list(validator.iter_errors(GOOD)) == []
    assert [e.path[0] for e in validator.iter_errors({**GOOD, "project_url": "see paper"})] == ["project_url"] * 2


def test_real_and_committed_metadata_have_no_errors(contributions):
    for path in sorted(contributions.glob("*/metadata.json")) + sorted((REPO / "submissions").glob("*/metadata.json")):
        csvs = [p.name for p in path.parent.glob("*.csv.zip")]
        errors, warnings = check_metadata(json.loads(path.read_text()), csvs, folder_name=path.parent.name)
        assert errors == [], (path, errors)
        if path.is_relative_to(REPO):
            assert warnings == [], (path, warnings)  # ours: complete, no placeholders, lower-case names


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"author_email": "lab at uni"}, 'author_email "lab at uni" is not an email address'),
        ({"project_url": "arxiv 2110.06197"}, 'project_url "arxiv 2110.06197" is not an http(s) URL'),
        ({"project_url": "ftp://x.org/p"}, "project_url"),
        ({"git_url": "https://github.com/a/b"}, "git_url must be a list of URL strings"),
        ({"git_url": ["https://github.com/a/b", "github.com/c"]}, 'git_url[1] "github.com/c" is not an http(s) URL'),
        ({"date_submitted": "2026-01-31"}, "date_submitted '2026-01-31' is not MM-DD-YYYY"),
        ({"date_submitted": "02-30-2026"}, "date_submitted '02-30-2026' is not a valid MM-DD-YYYY date"),
        ({"database_version": "2025"}, "database_version '2025' is not MM-DD-YYYY"),
        ({"model_name": ""}, "field 'model_name' must be a non-empty string"),
        ({"hardware_used": 3}, "field 'hardware_used' must be a non-empty string, got 3"),
        ({"team_name": None}, "field 'team_name' must be a non-empty string, got null"),
        ({"time_taken_seconds": 60}, "time_taken_seconds must be an object keyed by csv.zip file name"),
        ({"language": ["python"]}, "field 'language' must be a string"),
        ({"date_submitted": datetime.date(2026, 1, 31)}, "write it as the string '01-31-2026'"),
        ({"model_name": "<img src=x onerror=alert(1)>"}, "field 'model_name' holds '<' (HTML or script markup)"),
        ({"team_name": "Lab</td><script>x()</script>"}, "field 'team_name' holds '<' (HTML or script markup)"),
        ({"hardware_used": "1 CPU\x1b[2J"}, "field 'hardware_used' holds a control character"),
        ({"git_url": ["https://github.com/a/b?q=<script>"]}, "field 'git_url' holds '<'"),
    ],
)
def test_each_problem_is_an_error_naming_the_field(change, fragment):
    errors, _ = check_metadata({**GOOD, **change}, [RMSE])
    assert any(fragment in e for e in errors), errors
    assert not any("datetime" in e for e in errors)


def test_missing_fields_are_errors_one_each():
    errors, _ = check_metadata({"model_name": "x"}, [])
    missing = sorted(e.split("'")[1] for e in errors if e.startswith("required field"))
    assert missing == sorted(set(metadata_schema()["required"]) - {"model_name"})


def test_what_the_leaderboard_tolerates_is_a_warning():
    meta = {**GOOD, "my_notes": "x", "uncertainty_rmse": 0.1, "time_taken_seconds": {RMSE: "", "other.csv.zip": -1}}
    meta["date_submitted"] = "1-31-2026"
    errors, warnings = check_metadata(meta, [RMSE])
    assert errors == []
    text = "\n".join(warnings)
    assert "unknown field(s) 'my_notes'" in text and "uncertainty_rmse" not in text
    assert "not zero-padded" in text and "names 1 file(s) not in this folder" in text
    assert "time_taken_seconds['other.csv.zip'] is -1" in text and 'is "" for 1 file(s)' in text


def test_unquoted_yaml_dates():
    data = yaml.safe_load("date_submitted: 2026-01-31\ndatabase_version: 2025-08-08\nmodel_name: x\n")
    assert isinstance(data["date_submitted"], datetime.date)  # what PyYAML gives for an unquoted date
    fixed = normalize_metadata(data)
    assert fixed["date_submitted"] == "01-31-2026" and fixed["database_version"] == "08-08-2025"
    with pytest.raises(Exception) as exc:
        normalize_metadata(yaml.safe_load("team_name: 2026-01-31\n"))
    assert "'team_name' was read as a date (2026-01-31); quote it" in str(exc.value)
    assert "datetime" not in str(exc.value)


def test_placeholders_and_example_addresses():
    meta = {
        **GOOD,
        "author_email": "me@example.org",
        "hardware_used": "<hardware>",
        "team_name": "TODO",
        "git_url": ["https://github.com/a/b", "https://repo.example/x"],
    }
    found = dict(placeholder_fields(meta))
    assert set(found) == {"author_email", "hardware_used", "team_name", "git_url"}
    assert placeholder_fields(GOOD) == []
    _, warnings = check_metadata(meta, [RMSE])
    assert sum("looks like a placeholder" in w for w in warnings) == 4


def test_folder_names():
    assert folder_name_warning("cdvae_small") is None and folder_name_warning("atomgenbench-cdvae-cpu.v2") is None
    assert "suggested name: 'my_cdvae_v2'" in folder_name_warning("My CDVAE v2")
    assert contribution_name("FlowMM (ours)") == "flowmm_ours"
    _, warnings = check_metadata(GOOD, [RMSE], folder_name="CDVAE")
    assert any("suggested name: 'cdvae'" in w for w in warnings)


def invoke(*args: str, input: str | None = None):
    result = CliRunner().invoke(cli, list(args), input=input)
    assert "Traceback" not in result.output, result.output
    return result


def test_metadata_init_with_options_feeds_package(tmp_path, contributions):
    out = tmp_path / "meta.yaml"
    result = invoke(
        "metadata", "init", "--out", str(out), "--model-name", "My CDVAE", "--author-email", "lab@uni-crystal.edu",
        "--project-url", "https://arxiv.org/abs/2110.06197", "--git-url", "https://github.com/lab/cdvae",
        "--hardware-used", "1 A100 GPU", "--date-submitted", "02-01-2026",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "# Contact e-mail of the submitting author" in text and "time_taken_seconds" in text
    data = yaml.safe_load(text)
    assert data["team_name"] == "My CDVAE" and data["git_url"] == ["https://github.com/lab/cdvae"]
    assert data["date_submitted"] == "02-01-2026" and "fill in" not in result.output

    folder = tmp_path / "my_cdvae"
    packaged = invoke("package", "--dft-3d", str(contributions / "cdvae_invatoms" / RMSE), "--metadata", str(out),
                      "--out", str(folder))  # fmt: skip
    assert packaged.exit_code == 0, packaged.output
    meta = json.loads((folder / "metadata.json").read_text())
    assert {k: meta[k] for k in ("model_name", "hardware_used", "date_submitted")} == {
        "model_name": "My CDVAE",
        "hardware_used": "1 A100 GPU",
        "date_submitted": "02-01-2026",
    }
    assert check_metadata(meta, [p.name for p in folder.glob("*.csv.zip")])[0] == []

    again = invoke("metadata", "init", "--out", str(out), "--model-name", "x")
    assert again.exit_code == 1 and "--force" in again.output
    bad = invoke("metadata", "init", "--out", str(tmp_path / "b.yaml"), "--author-email", "nobody")
    assert bad.exit_code == 2 and "not an email address" in bad.output and not (tmp_path / "b.yaml").exists()


def test_metadata_init_without_a_terminal_writes_placeholders_that_package_refuses(tmp_path, contributions):
    out = tmp_path / "meta.yaml"
    result = invoke("metadata", "init", "--out", str(out), "--model-name", "M")
    assert result.exit_code == 0 and "fill in: author_email, project_url, hardware_used" in result.output
    data = yaml.safe_load(out.read_text())
    assert data["author_email"] == "<you@your-institute.org>"
    refused = invoke("package", "--dft-3d", str(contributions / "cdvae_invatoms" / RMSE), "--metadata", str(out),
                     "--out", str(tmp_path / "m"))  # fmt: skip
    assert refused.exit_code == 1 and "author_email" in refused.output and "project_url" in refused.output


def test_metadata_init_prompts_on_a_terminal(tmp_path, monkeypatch):
    from atomgenbench.cli.commands import metadata as command

    monkeypatch.setattr(command, "_is_interactive", lambda: True)
    out = tmp_path / "meta.yaml"
    answers = "\n".join(
        [
            "Prompted Model",  # model name
            "",  # team: default = the model name
            "not-an-email",  # refused, asked again
            "me@lab-site.org",
            "https://lab-site.org/paper",
            "https://github.com/lab/m, https://gitlab.com/lab/m",
            "2 GPUs",
            "",  # software: default
            "",  # date: today
        ]
    )
    result = invoke("metadata", "init", "--out", str(out), input=answers + "\n")
    assert result.exit_code == 0, result.output
    assert "not an email address" in result.output
    data = yaml.safe_load(out.read_text())
    assert data["model_name"] == "Prompted Model" and data["team_name"] == "Prompted Model"
    assert data["author_email"] == "me@lab-site.org"
    assert data["git_url"] == ["https://github.com/lab/m", "https://gitlab.com/lab/m"]
    assert data["date_submitted"] == datetime.date.today().strftime("%m-%d-%Y")


def test_metadata_schema_command_and_docs_publish_the_schema():
    result = invoke("metadata", "schema")
    assert result.exit_code == 0 and json.loads(result.output) == metadata_schema()
    docs = (REPO / "docs" / "metadata.md").read_text()
    for field in metadata_schema()["properties"]:
        assert f"`{field}`" in docs, field
    assert json.loads(docs.split("```json\n")[1].split("```")[0]) == metadata_schema()  # the schema, verbatim


def test_validate_reports_schema_problems(tmp_path, contributions):
    folder = tmp_path / "c"
    args = ["--model-name", "C", "--author-email", "lab@uni-crystal.edu", "--project-url", "https://p.org"]
    packaged = invoke("package", "--dft-3d", str(contributions / "cdvae_invatoms" / RMSE), *args, "--out", str(folder))
    assert packaged.exit_code == 0, packaged.output
    meta = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**meta, "colab_link": "x", "git_url": ["not a url"]}))
    result = invoke("validate", "--no-scores", str(folder))
    assert result.exit_code == 1
    assert 'git_url[0] "not a url" is not an http(s) URL' in result.output
    assert "unknown field(s) 'colab_link'" in result.output


def test_the_documented_metadata_examples_are_valid():
    from atomgenbench.evaluator.submission.package import build_metadata, family_files

    for doc in (REPO / "README.md", REPO / "docs" / "metadata.md"):
        block = next(b.split("```")[0] for b in doc.read_text().split("```yaml\n")[1:] if "model_name:" in b)
        data = yaml.safe_load(block)
        meta, warnings = build_metadata(data, family_files("dft_3d_Tc_supercon"), {})
        assert meta["time_taken_seconds"][RMSE] == 3600 and meta["git_url"] == ["https://github.com/me/cdvae"]
        assert not [w for w in warnings if "placeholder" in w or "unknown" in w], warnings

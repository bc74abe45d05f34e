"""A contribution folder's README section "RMSE the leaderboard will show" (reproduce --leaderboard-env)."""

from __future__ import annotations

from atomgenbench.evaluator.reports.env_report import README_HEADING, readme_with_section


def _section(lb: tuple, cur: tuple, differences: list[dict]) -> dict:
    env = {"pymatgen": "2026.10.24", "pymatgen-core": "2026.10.16"}
    return {
        "leaderboard": {"value": lb[0], "n_matched": lb[1], "n_total": 825, "environment": {"python": "3.11.7"}},
        "current": {"value": cur[0], "n_matched": cur[1], "n_total": 825, "environment": env},
        "differences": differences,
    }


SECTIONS = {
    "alex_supercon_Tc": _section(
        (0.1537, 249), (0.1544, 250), [{"id": "agm001612144", "current_rms": None, "leaderboard_rms": 0.47191}]
    )
}


def test_the_section_is_added_then_replaced_and_later_sections_stay():
    readme = "# folder\n\nWritten by package.\n"
    once = readme_with_section(readme, SECTIONS)
    assert once.startswith(readme) and once.count(README_HEADING) == 1
    row = "| alex_supercon_Tc | 0.1537 | 249/825 | 0.1544 | 250/825 | `agm001612144` (n/a here, 0.4719 there) |"
    assert row in once.splitlines()
    assert "pymatgen 2024.3.1 (its CI pins: numpy 1.26.4" in once and "pymatgen-core 2026.10.16" in once

    hand_written = once + "\n## How it was made\n\nby hand\n"
    moved = {"alex_supercon_Tc": _section((0.1500, 250), (0.1544, 250), [])}
    again = readme_with_section(hand_written, moved)
    assert again.count(README_HEADING) == 1 and again.endswith("\n## How it was made\n\nby hand\n")
    assert "| alex_supercon_Tc | 0.1500 | 250/825 | 0.1544 | 250/825 | none |" in again.splitlines()
    assert row not in again and readme_with_section(again, moved) == again


def test_reproduce_writes_the_section_into_every_packaged_folder(tmp_path, monkeypatch):
    """The leaderboard_env stage of ``reproduce --leaderboard-env`` (the pinned scorer stubbed here: it has
    its own tests in tests/test_leaderboard_env.py) puts the section into each packaged folder's README."""
    import atomgenbench.evaluator.leaderboard.score as score
    from atomgenbench.workflows import reproduce

    cfg = reproduce.ReproduceConfig(
        "quick", tmp_path, models=(), baselines=("nearest",), benchmarks=("alex_supercon_Tc",), leaderboard_env=True
    )
    folder = cfg.submission_dir("nearest")
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("# atomgenbench-nearest-quick\n", encoding="utf-8")
    seen = {}

    def fake_score_files(files, executor, pinned):
        seen.update(files=files, pinned=pinned)
        return {name: SECTIONS for name in files}

    monkeypatch.setattr(score, "score_files", fake_score_files)
    assert reproduce._leaderboard_env(cfg) == {"pinned": True, "files": 1}
    assert seen["pinned"] and seen["files"] == {
        folder.name: {"alex_supercon_Tc": folder / "AI-AtomGen-Tc-alex_supercon-test-rmse.csv.zip"}
    }
    assert (folder / "README.md").read_text(encoding="utf-8") == readme_with_section(
        "# atomgenbench-nearest-quick\n", SECTIONS
    )

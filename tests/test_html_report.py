"""report.html in a real headless Chromium (Debian's chromium + chromium-driver, through selenium).

The pages are built once per session from a small real evaluation of dft_3d_Tc_supercon
(105 test crystals): the official AtomGPT file, and a three-sample run whose samples are
the official CDVAE, AtomGPT and FlowMM files. A missing browser fails (never skips) with
the command that installs it.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from atomgenbench.cli import cli
from atomgenbench.evaluator.reports import browser as html_browser
from atomgenbench.evaluator.reports.browser import BrowserError, console_errors, external_requests, requested_urls

# slow: the tests share a ~12 s fixture of real evaluations (built in one xdist worker) and drive a browser
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("html_report")]

BENCH = "dft_3d_Tc_supercon"
RMSE = "AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip"
MIX = "mix-k3"


@pytest.fixture(scope="session")
def results(tmp_path_factory, contributions) -> dict:
    """Two real evaluation folders (atomgpt; mix-k3 with 3 samples per id) and the page made from them."""
    from atomgenbench.benchmarks.atomgen.predictions import Predictions
    from atomgenbench.core.executors import Executor
    from atomgenbench.evaluator.inputs.load import load_predictions
    from atomgenbench.workflows.evaluation import EvaluationSettings, evaluate_input, write_comparison

    root = tmp_path_factory.mktemp("report")
    files = {m: contributions / f"{m}_invatoms" / RMSE for m in ("cdvae", "atomgpt", "flowmm")}
    single = load_predictions(files["atomgpt"], BENCH)
    single.model = "atomgpt"  # the page labels a single evaluation folder by its metrics.json "model"
    samples = [load_predictions(files[m], BENCH) for m in ("cdvae", "atomgpt", "flowmm")]
    mix = Predictions(
        benchmark=BENCH,
        model=MIX,
        structures=samples[0].structures,
        samples=3,
        more_samples={1: samples[1].structures, 2: samples[2].structures},
    )
    # what `compare --published` writes: comparison.json, one evaluation folder per label and report.html
    cmp_dir = root / "cmp"
    settings, executor = EvaluationSettings(n_bootstrap=200), Executor.create("process", 2)
    evaluations = {
        label: evaluate_input(path, BENCH, settings, executor, predictions=preds)
        for label, path, preds in (("atomgpt", files["atomgpt"], single), (MIX, Path(MIX), mix))
    }
    write_comparison(evaluations, cmp_dir, settings, published=True, figures=True)
    folders = {label: cmp_dir / label for label in evaluations}
    comparison = json.loads((cmp_dir / "comparison.json").read_text())
    page = cmp_dir / "report.html"
    return {"root": root, "folders": folders, "page": page, "files": files, "comparison": comparison}


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """One headless Chromium for the session; a missing browser or driver fails here, with the install command."""
    try:
        driver = html_browser.open_chromium(tmp_path_factory.mktemp("chromium-profile"))
    except BrowserError as exc:
        pytest.fail(f"no headless browser for the report tests: {exc}", pytrace=False)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, results):
    """The page freshly loaded, with console and network logs emptied just before."""
    requested_urls(browser)
    console_errors(browser)
    browser.get(results["page"].resolve().as_uri())
    wait(browser, "window.__figuresReady")
    return browser


def wait(driver, expression: str, timeout: float = 30.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(f"return {expression}"))


def metrics(results, label: str) -> dict:
    return json.loads((results["folders"][label] / "metrics.json").read_text())


def rows(results, label: str) -> list[dict]:
    with open(results["folders"][label] / "rows.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def leaderboard_labels(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#lb-table tbody tr td:first-child')].map((td) => td.textContent)"
    )


def shown_count(driver) -> int:
    return int(driver.find_element("id", "crystal-count").get_attribute("data-count"))


def set_select(driver, element_id: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", element_id)).select_by_value(value)


def test_header_click_reorders_the_leaderboard(page, results):
    rmse = {label: metrics(results, label)["rmse"]["value"] for label in results["folders"]}
    header = page.find_element("css selector", '#lb-table th[data-key="rmse"]')
    assert "matched ids" in header.get_attribute("title")  # the registry's denominator
    header.click()
    assert leaderboard_labels(page) == sorted(rmse, key=rmse.get)
    page.find_element("css selector", '#lb-table th[data-key="rmse"]').click()
    assert leaderboard_labels(page) == sorted(rmse, key=rmse.get, reverse=True)
    best = page.find_elements("css selector", "#lb-table td.best")
    assert best, "the best value of each column is marked"


def test_published_rows_are_an_option(page, results):
    published = results["comparison"]["published"]
    assert len(leaderboard_labels(page)) == 2
    page.find_element("id", "show-published").click()
    labels = leaderboard_labels(page)
    assert labels[2:] == [f"{p['contribution']} (published)" for p in published]
    shown = page.execute_script(
        "return [...document.querySelectorAll('#lb-table tbody tr.published')]"
        ".map((tr) => Number(tr.querySelector('td[data-value]').dataset.value))"
    )
    assert shown == [p["rmse"] for p in published]  # the RMSE column: comparison.json's published values


def test_header_tooltips_come_from_the_registry(page):
    from atomgenbench.evaluator.metrics.registry import get

    for name in ("rmse.match_rate", "ccrmsd", "samples.match_at_k"):
        title = page.find_element("css selector", f'#lb-table th[data-key="{name}"]').get_attribute("title")
        metric = get(name)
        assert metric.formula in title and metric.denominator in title and metric.unit in title


def test_filters_narrow_the_crystal_table(page, results):
    doc = metrics(results, "atomgpt")
    assert shown_count(page) == doc["n_total"] == 105
    set_select(page, "filter-status", "matched")
    assert shown_count(page) == doc["rmse"]["n_matched"]
    set_select(page, "filter-status", "failed")
    assert shown_count(page) == doc["n_total"] - doc["n_parsed"]
    set_select(page, "filter-status", "all")
    set_select(page, "filter-stratum", "twin")
    assert shown_count(page) == doc["by_stratum"]["twin"]["n"]
    set_select(page, "filter-stratum", "all")
    search = page.find_element("id", "filter-text")
    search.send_keys("JVASP-816")
    assert shown_count(page) == 1
    shown = page.find_elements("css selector", "#crystal-table tbody tr")
    assert [tr.get_attribute("data-id") for tr in shown] == ["JVASP-816"]


def test_clicking_a_crystal_opens_the_viewer(page, results):
    """Target and prediction drawn with rows.csv's atom counts; stepping to sample 2 shows AtomGPT's crystal."""
    set_select(page, "crystal-model", "1")  # mix-k3
    mine = {r["id"]: r for r in rows(results, MIX)}
    atomgpt = {r["id"]: r for r in rows(results, "atomgpt")}
    # sample 1 of mix-k3 is AtomGPT's prediction: pick a crystal where it has another atom count than the target
    key = next(k for k, r in mine.items() if atomgpt[k]["n_atoms_pred"] not in ("", r["n_atoms_target"]))
    page.find_element("id", "filter-text").send_keys(key)
    page.find_element("css selector", f'#crystal-table tbody tr[data-id="{key}"]').click()
    wait(page, "document.querySelector('#view-pred .main-svg') !== null")
    assert viewer_atoms(page) == (int(mine[key]["n_atoms_target"]), int(mine[key]["n_atoms_pred"]))
    assert page.find_element("id", "sample-info").text == "sample 1 of 3"
    page.find_element("id", "sample-next").click()
    assert page.find_element("id", "sample-info").text == "sample 2 of 3"
    assert viewer_atoms(page) == (int(mine[key]["n_atoms_target"]), int(atomgpt[key]["n_atoms_pred"]))
    legend = page.execute_script(
        "return document.getElementById('view-target').data.filter((t) => t.meta && !t.meta.image).map((t) => t.name)"
    )
    assert legend and all(re.fullmatch(r"[A-Z][a-z]? \(\d+\)", name) for name in legend)


def viewer_atoms(driver) -> tuple[int, int]:
    """Atoms drawn (periodic images left out) in the target and prediction scenes, checked against their labels."""
    counts = []
    for side in ("target", "pred"):
        drawn = driver.execute_script(
            f"return document.getElementById('view-{side}').data"
            ".filter((t) => t.meta && t.meta.element && !t.meta.image).reduce((n, t) => n + t.x.length, 0)"
        )
        label = driver.find_element("css selector", f"#view-{side}-info .natoms").get_attribute("data-natoms")
        assert drawn == int(label)
        counts.append(drawn)
    return counts[0], counts[1]


def test_leaderboard_shows_the_special_pearson_r(page, contributions):
    """The page's Pearson-r columns (from rows.csv) are the leaderboard's Special/AtomGenBench values of the files."""
    from atomgenbench.evaluator.leaderboard.specialized import atomgenbench_pearson

    official = atomgenbench_pearson([contributions / "atomgpt_invatoms"])["values"]["atomgpt_invatoms"]
    cells = page.execute_script(
        "const heads = [...document.querySelectorAll('#lb-table thead th')].map((th) => th.dataset.key);"
        "const row = [...document.querySelectorAll('#lb-table tbody tr')]"
        "  .find((tr) => tr.cells[0].textContent === 'atomgpt');"
        "return Object.fromEntries(heads.map((k, i) => [k, row.cells[i].dataset.value]));"
    )
    for p in ("a", "b", "c", "alpha", "beta", "gamma"):
        assert float(cells[f"@pearson.{p}"]) == official[f"Tc_supercon_{p}-dft_3d"]
    heatmap = page.execute_script("return document.getElementById('fig-special').data[0].z")
    assert len(heatmap) == 2 and len(heatmap[0]) == 6  # two models, the six dft_3d files


def test_no_console_error_and_no_request_leaves_the_file(page, results):
    page.find_element("css selector", '#lb-table th[data-key="rmse.match_rate"]').click()
    page.find_element("css selector", '#hist-buttons button[data-param="gamma"]').click()
    set_select(page, "stratum-metric", "rmse")
    page.find_element("css selector", "#crystal-table tbody tr").click()
    wait(page, "document.querySelector('#view-target .main-svg') !== null")
    assert console_errors(page) == []
    urls = requested_urls(page)
    assert results["page"].resolve().as_uri() in urls  # the log works: it saw the page itself
    assert external_requests(urls, results["page"]) == []


def test_external_requests_keeps_what_leaves_the_file(tmp_path):
    """Other files and the network count; the page itself, inline data and Chromium's own pages do not."""
    page = tmp_path / "report.html"
    own, other = page.resolve().as_uri(), (tmp_path / "x.js").resolve().as_uri()
    urls = [
        own,
        own + "#crystal",
        "data:image/png;base64,AA",
        "chrome://favicon2/?size=24",
        other,
        "https://cdn.plot.ly/p.js",
    ]
    assert external_requests(urls, page) == [other, "https://cdn.plot.ly/p.js"]


def test_screenshot_is_written(page, results):
    out = results["root"] / "report.png"
    page.find_element("css selector", "#crystal-table tbody tr").click()
    assert page.save_screenshot(str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000


def test_embedded_data_is_the_result_files(page, results):
    """Every number on the page comes from metrics.json and rows.csv: the page's data is those files."""
    doc = page.execute_script("return JSON.parse(document.getElementById('report-data').textContent)")
    (bench,) = doc["benchmarks"]
    assert bench["name"] == BENCH
    for model in bench["models"]:
        folder = results["folders"][model["label"]]
        assert model["metrics"] == json.loads((folder / "metrics.json").read_text())
        with open(folder / "rows.csv", newline="") as fh:
            table = list(csv.reader(fh))
        assert [model["rows_header"], *model["rows"]] == table
    shown = page.find_element("css selector", "#lb-table tbody tr td[data-value]").get_attribute("data-value")
    assert float(shown) in {m["metrics"]["rmse"]["value"] for m in bench["models"]}


def test_page_is_self_contained(results):
    text = results["page"].read_text(encoding="utf-8")
    assert text.count("plotly.js v") == 1  # Plotly embedded once
    # Plotly's own source holds link texts (its logo's); the page around it loads nothing from anywhere
    text = re.sub(r'(<script type="text/plain" id="plotly-source">).*?(</script>)', r"\1\2", text, flags=re.S)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "Content-Security-Policy" in text and "connect-src 'none'" in text


def test_report_command(results, tmp_path):
    out = tmp_path / "page.html"
    folder = results["folders"]["atomgpt"]
    result = CliRunner().invoke(cli, ["report", str(folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1_000_000 and "wrote" in result.output
    bad = CliRunner().invoke(cli, ["report", str(results["files"]["atomgpt"].parent)])
    assert bad.exit_code == 1 and "no metrics.json" in bad.output


def embedded(page: Path) -> dict:
    """The data document of a page, read from the file."""
    text = page.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S)[1])


def test_predictions_keyed_by_folder(results, tmp_path):
    """The evaluate workflow's call: one folder, its predictions keyed by the folder."""
    from atomgenbench.evaluator.reports.html import write_html_report

    folder = tmp_path / "eval"
    shutil.copytree(results["folders"]["atomgpt"], folder)
    (folder / "source.txt").unlink()  # evaluate writes none: the predictions come from the call alone
    page = write_html_report([folder], tmp_path / "one.html", predictions={folder: results["files"]["atomgpt"]})
    (bench,) = embedded(page)["benchmarks"]
    drawn = bench["viewer"]["predictions"]["atomgpt"]
    expected = {r["id"]: r["n_atoms_pred"] for r in rows(results, "atomgpt")}
    assert {k: str(len(v[0]["species"])) if v[0] else "" for k, v in drawn.items()} == expected


def test_a_missing_browser_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(Path, "is_file", lambda self: False)
    with pytest.raises(BrowserError, match="apt-get install -y chromium chromium-driver"):
        html_browser.find_chromium()

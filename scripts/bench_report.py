"""Size and time to interactive of report.html for `compare` of the three official contributions on alex.

Targets (issue 29): the page is at most 15 MB and becomes interactive in headless Chromium in 3 s or
less. "Interactive" is the moment the page's script has drawn the leaderboard and the per-crystal
table and bound their handlers (``window.__reportReady``, ms since navigation start); the script also
reports when every figure is drawn (``window.__figuresReady``) and when the main thread's last long
task (> 50 ms, PerformanceObserver "longtask") ended: from then on input is handled at once.

    python scripts/bench_report.py --compare-dir /work/runs/report/cmp-alex --runs 5 \\
        --screenshot docs/results/report.png

Without ``--compare-dir`` it first runs ``atomgenbench compare`` of the three alex files into
``--work``. Needs ATOMGENBENCH_DATA (the data mirror), chromium and chromium-driver.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LABELS = ("atomgpt", "cdvae", "flowmm")
#: installed before the page's own scripts: records every long task (> 50 ms) of the main thread
LONG_TASKS = (
    "window.__longTasks = [];"
    "new PerformanceObserver((list) => { for (const e of list.getEntries()) "
    "window.__longTasks.push(e.startTime + e.duration); }).observe({type: 'longtask', buffered: true});"
)
ALEX_FILE = "AI-AtomGen-Tc-alex_supercon-test-rmse.csv.zip"


def contributions() -> Path:
    import os

    return Path(os.environ.get("ATOMGENBENCH_DATA", "../shared/data")) / "jarvis_leaderboard" / "contributions"


def run_compare(out: Path) -> None:
    files = [str(contributions() / f"{label}_invatoms" / ALEX_FILE) for label in LABELS]
    cmd = [sys.executable, "-m", "atomgenbench", "compare", *files, "--labels", ",".join(LABELS)]
    subprocess.run([*cmd, "--published", "-o", str(out)], check=True)


def load_page(path: Path) -> dict:
    """Open ``path`` in a fresh headless Chromium; the page's own timings and the browser's."""
    from atomgenbench.evaluator.reports.browser import console_errors, open_chromium

    with tempfile.TemporaryDirectory() as profile:
        driver = open_chromium(profile)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": LONG_TASKS})
        try:
            start = time.perf_counter()
            driver.get(path.resolve().as_uri())  # returns after the load event
            ready = wait_for(driver, "window.__reportReady")
            figures = wait_for(driver, "window.__figuresReady")
            wall = time.perf_counter() - start
            time.sleep(1.0)  # a long task still running after the figures would show here
            quiet = driver.execute_script("return Math.max(0, ...window.__longTasks)")
            nav = driver.execute_script(
                "const t = performance.getEntriesByType('navigation')[0];"
                "return {dcl: t.domContentLoadedEventEnd, load: t.loadEventEnd};"
            )
            return {
                "interactive_ms": ready,
                "figures_ms": figures,
                "quiet_ms": quiet,
                "dom_content_loaded_ms": nav["dcl"],
                "load_ms": nav["load"],
                "wall_s": wall,
                "console_errors": console_errors(driver),
            }
        finally:
            driver.quit()


def wait_for(driver, expression: str, timeout: float = 60.0) -> float:
    end = time.time() + timeout
    while time.time() < end:
        value = driver.execute_script(f"return {expression} || null")
        if value:
            return float(value)
        time.sleep(0.05)
    raise TimeoutError(f"{expression} not set within {timeout} s")


def screenshot(page: Path, out: Path) -> list[Path]:
    """Two 1400 px wide pictures: the top of the page (leaderboard, figures, crystal table) and the viewer."""
    from atomgenbench.evaluator.reports.browser import open_chromium

    viewer = out.with_name(f"{out.stem}-viewer{out.suffix}")
    with tempfile.TemporaryDirectory() as profile:
        driver = open_chromium(profile, width=1400, height=2300)
        try:
            driver.get(page.resolve().as_uri())
            wait_for(driver, "window.__figuresReady")
            time.sleep(1.0)
            out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(out))
            driver.set_window_size(1400, 1000)
            # a crystal whose prediction matched: AtomGPT's first matched row with distinct species counts
            driver.find_element("id", "filter-status").send_keys("matched")
            driver.execute_script("document.getElementById('viewer').scrollIntoView()")
            rows = driver.find_elements("css selector", "#crystal-table tbody tr")
            driver.execute_script("arguments[0].click()", rows[min(3, len(rows) - 1)])
            time.sleep(2.0)  # WebGL scenes settle
            driver.execute_script("document.getElementById('viewer').scrollIntoView()")
            driver.save_screenshot(str(viewer))
        finally:
            driver.quit()
    return [out, viewer]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-dir", type=Path, help="an existing `compare` output of the three alex files")
    parser.add_argument("--work", type=Path, default=Path("bench-report-work"), help="where compare writes otherwise")
    parser.add_argument("--out", type=Path, help="report.html to write (default: <compare dir>/report.html)")
    parser.add_argument("--runs", type=int, default=5, help="page loads, each in a fresh browser profile")
    parser.add_argument("--screenshot", type=Path, help="write a screenshot of the page here")
    args = parser.parse_args(argv)

    from atomgenbench.evaluator.reports.html import write_html_report

    folder = args.compare_dir
    if folder is None:
        folder = args.work / "cmp-alex"
        run_compare(folder)
    page = args.out or folder / "report.html"
    preds = {label: contributions() / f"{label}_invatoms" / ALEX_FILE for label in LABELS}
    start = time.perf_counter()
    write_html_report([folder], page, predictions=preds)
    write_s = time.perf_counter() - start
    loads = [load_page(page) for _ in range(args.runs)]
    result = {
        "page": str(page),
        "size_mb": round(page.stat().st_size / 1e6, 2),
        "write_s": round(write_s, 2),
        "runs": args.runs,
        "interactive_ms_median": round(statistics.median(x["interactive_ms"] for x in loads)),
        "interactive_ms_max": round(max(x["interactive_ms"] for x in loads)),
        "figures_ms_median": round(statistics.median(x["figures_ms"] for x in loads)),
        "main_thread_quiet_ms_median": round(statistics.median(x["quiet_ms"] for x in loads)),
        "main_thread_quiet_ms_max": round(max(x["quiet_ms"] for x in loads)),
        "load_event_ms_median": round(statistics.median(x["load_ms"] for x in loads)),
        "console_errors": sorted({e for x in loads for e in x["console_errors"]}),
    }
    if args.screenshot:
        result["screenshots"] = [str(p) for p in screenshot(page, args.screenshot)]
    print(json.dumps(result, indent=2))
    ok = result["size_mb"] <= 15 and result["interactive_ms_max"] <= 3000 and not result["console_errors"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

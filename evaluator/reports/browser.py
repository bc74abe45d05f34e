"""Headless Chromium for checking report.html (the browser tests and scripts/bench_report.py).

Drives Debian's ``chromium`` and ``chromium-driver`` through selenium. A missing browser,
driver or selenium raises :class:`BrowserError` with the command that installs it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from atomgenbench.core.errors import AtomGenBenchError

INSTALL_HINT = "apt-get update && apt-get install -y chromium chromium-driver; pip install selenium"
#: flags of every launch (no GPU, no sandbox in containers, nothing that phones home)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
#: URL patterns blocked in the page (Network.setBlockedURLs): nothing may leave the file
BLOCKED_URLS = ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]


class BrowserError(AtomGenBenchError):
    """No usable headless Chromium (browser, driver or selenium missing)."""


def find_chromium() -> tuple[str, str]:
    """Paths of the Chromium binary and of chromedriver (a :class:`BrowserError` if either is missing)."""
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if Path(p).is_file()), None
    )
    missing = [name for name, path in (("chromium", browser), ("chromedriver", driver)) if path is None]
    if missing:
        raise BrowserError(f"headless browser tests need {' and '.join(missing)} on PATH; install: {INSTALL_HINT}")
    return str(browser), str(driver)


def open_chromium(user_data_dir: str | Path, *, width: int = 1400, height: int = 1000, block_network: bool = True):
    """A selenium Chrome driver on headless Chromium with a fresh profile, console and network logs on."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise BrowserError(f"the browser tests need selenium (the 'test' extra); install: {INSTALL_HINT}") from None
    browser, driver_path = find_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
    except Exception as exc:  # noqa: BLE001 - selenium's errors vary by version; say what failed
        raise BrowserError(f"cannot start headless Chromium ({browser}, {driver_path}): {exc}") from None
    driver.execute_cdp_cmd("Network.enable", {})
    if block_network:
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": BLOCKED_URLS})
    return driver


def requested_urls(driver) -> list[str]:
    """Every URL the page asked for since the last call (from the DevTools performance log)."""
    out = []
    for item in driver.get_log("performance"):
        message = json.loads(item["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            out.append(message["params"]["request"]["url"])
    return out


#: schemes that never leave the machine: inline data, and Chromium's own pages (its new-tab page
#: loads chrome://favicon2/... now and then; a web page cannot load chrome:// URLs at all)
LOCAL_SCHEMES = ("data:", "blob:", "about:", "chrome:", "chrome-untrusted:", "chrome-extension:", "devtools:")


def external_requests(urls: list[str], page: str | Path) -> list[str]:
    """The URLs of ``urls`` that are not the page file itself, inline, or Chromium's own (:data:`LOCAL_SCHEMES`)."""
    own = Path(page).resolve().as_uri()
    return [u for u in urls if u.split("#")[0] != own and not u.startswith(LOCAL_SCHEMES)]


def console_errors(driver) -> list[str]:
    """Console messages of level SEVERE (JavaScript errors, CSP violations) since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]

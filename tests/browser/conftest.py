"""Debian's Chromium, headless, driven through chromedriver by selenium, against real servers.

Chromium and chromedriver come from Debian (``apt-get install chromium chromium-driver``; .ci/run
installs them when missing). Without them the tests are skipped, except on CI (``CI`` set), where
that is a failure. Each browser has a new, empty profile directory, and the flags this machine
needs: no sandbox (the tests run as root), no GPU, and no background networking (there is no
network but loopback). Screenshots are written to ``MISTRAL_CORE_SCREENSHOTS`` when it is set
(docs/images has those of the README, made that way).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.support import ProcessGroup, process_group

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1100,900",
)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessGroup]:
    """Servers for one test (each over a new SQLite file); stopped afterwards."""
    with process_group(tmp_path) as group:
        yield group


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A new headless Chromium (its own empty profile), closed afterwards."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium")
    if missing:
        if _on_ci():
            pytest.fail(
                f"browser tests need {', '.join(missing)} on CI (apt-get install chromium chromium-driver)"
            )
        pytest.skip(f"not installed: {', '.join(missing)}")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let selenium look for a driver on the network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshot(browser: Any) -> Callable[[str], None]:
    """Save what the browser shows as ``<name>.png`` in ``MISTRAL_CORE_SCREENSHOTS`` (if set)."""

    def take(name: str) -> None:
        folder = os.environ.get("MISTRAL_CORE_SCREENSHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(Path(folder) / f"{name}.png"))

    return take

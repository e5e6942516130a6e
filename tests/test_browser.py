"""The learner's path in a real browser: JupyterLab in headless Chromium, lesson 00.

A copy of course/ is served by `jupyter lab` on a free loopback port. The test plays a
learner who has answered the exercises (answers taken from solutions/): it opens
course/00_loading in Chromium, runs all cells from the Run menu, checks that no cell shows an
error, presses nbgrader's Validate button and reads the dialog. Screenshots land in
artifacts/browser/.

Chromium and ChromeDriver come from Debian's packages (`.ci/run` installs them). Where they
are missing the test skips, except on CI (CI=true), where it fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tools.grading import (
    answer_like_the_solution,  # the repository's tools/ (on sys.path: conftest.py)
)

ROOT = Path(__file__).resolve().parents[1]
LESSON = "00_loading"
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.slow


def _require_browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test, but these are missing: {missing}")
        pytest.skip(f"no headless browser here ({', '.join(missing)}); apt-get install chromium "
                    f"chromium-driver")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def lab(tmp_path):
    _require_browser()
    served = tmp_path / "served"
    shutil.copytree(ROOT / "course", served / "course")
    answer_like_the_solution(served / "course" / LESSON / f"{LESSON}.ipynb",
                             ROOT / "solutions" / LESSON / f"{LESSON}.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    env.pop("MPLBACKEND", None)
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
         "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", "--ServerApp.allow_root=True",
         f"--ServerApp.root_dir={served}"],
        cwd=served, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=3)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("jupyter lab did not start")
            time.sleep(0.5)
    try:
        yield base, token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture()
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                f"--user-data-dir={tmp_path / 'chrome-profile'}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def _click_menu(driver, wait, menu, item):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    wait.until(EC.element_to_be_clickable((
        By.XPATH, f"//li[contains(@class,'lm-MenuBar-item')][.//div[normalize-space()='{menu}']]"
    ))).click()
    wait.until(EC.element_to_be_clickable((
        By.XPATH, f"//li[contains(@class,'lm-Menu-item')][.//div[normalize-space()='{item}']]"
    ))).click()


def test_learner_runs_lesson_00_and_validates(lab, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    base, token = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, 120)
    browser.get(f"{base}/lab/tree/course/{LESSON}/{LESSON}.ipynb?token={token}")
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")))
    # Wait for the kernel to be ready before running.
    wait.until(lambda d: d.execute_script(
        "const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
        "return s === null || s.getAttribute('data-status') === 'idle';"))
    time.sleep(2)
    _click_menu(browser, wait, "Run", "Run All Cells")

    def finished(driver):
        prompts = [p.text for p in driver.find_elements(
            By.CSS_SELECTOR, ".jp-CodeCell .jp-InputPrompt")]
        return prompts and all("[*]" not in p and p.strip() not in ("[ ]:", "[ ]") for p in prompts)

    WebDriverWait(browser, 240, poll_frequency=1).until(finished)
    browser.save_screenshot(str(ARTIFACTS / f"{LESSON}_run_all.png"))
    errors = [
        el.text[:500] for el in browser.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output")
        if "Traceback (most recent call last)" in el.text or "Error Traceback" in el.text
    ]
    assert not errors, f"cells show errors after Run All: {errors}"
    n_cells = len(browser.find_elements(By.CSS_SELECTOR, ".jp-CodeCell"))
    assert n_cells > 5

    # nbgrader's Validate button in the notebook toolbar, then its dialog.
    # (JupyterLab 4 toolbars hold jp-button web components, so match the label, not <button>.)
    label = wait.until(EC.presence_of_element_located((
        By.XPATH, "//*[contains(@class,'jp-NotebookPanel-toolbar')]"
                  "//*[normalize-space(text())='Validate']")))
    browser.execute_script("arguments[0].click();", label)
    dialog = WebDriverWait(browser, 240, poll_frequency=1).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, ".jp-Dialog-content")))
    WebDriverWait(browser, 240, poll_frequency=1).until(
        lambda d: "Validating" not in dialog.text and dialog.text.strip())
    text = dialog.text
    (ARTIFACTS / f"{LESSON}_validate.txt").write_text(text)
    browser.save_screenshot(str(ARTIFACTS / f"{LESSON}_validate.png"))
    assert "Success! Your notebook passes all the tests." in text, text

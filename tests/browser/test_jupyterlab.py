"""A real browser: JupyterLab runs lesson 2, a slider moves, the shown value is Python's.

Starts JupyterLab on 127.0.0.1 (free port, random token, a temporary root with
the lesson converted to .ipynb), opens it in headless Chromium through
Playwright (Debian's chromium, never a downloaded browser), runs all cells,
presses the right arrow on the slider of the activation widget, and asserts that
the value shown for h'(a) changed and equals what symnet computes for the
slider's new value. No cell may show an error or anything on stderr. A
screenshot goes to artifacts/ (gitignored).

Skipped when Playwright, Chromium or JupyterLab are missing, unless the
environment variable CI is set: there, a missing piece fails the test.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SYMNET_CHROMIUM", "/usr/bin/chromium")
LESSON = ROOT / "lessons" / "02_activations.py"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]


def _missing():
    missing = []
    for module in ("playwright", "jupyterlab", "jupytext", "ipywidgets"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        missing.append(CHROMIUM)
    return missing


if _missing() and not os.environ.get("CI"):
    pytest.skip(f"browser test needs {', '.join(_missing())} (it always runs in CI)",
                allow_module_level=True)


def _number(text):
    """A number as the page shows it (d3-format writes the minus sign as U+2212)."""
    return float(text.strip().replace("\u2212", "-"))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """(base URL, token, root dir) of a JupyterLab server with lesson 2 as a notebook."""
    assert not _missing(), f"CI must install: {_missing()}"
    sys.path.insert(0, str(ROOT / "lessons"))
    from make_notebooks import make_notebook
    sys.path.pop(0)
    root = tmp_path / "lab"
    make_notebook(LESSON, root)
    port, token = _free_port(), uuid.uuid4().hex
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("MPLBACKEND", None)
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", "--allow-root",
         f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
         "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + (tmp_path / "jupyterlab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield url, token, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_slider_in_jupyterlab_shows_what_python_computes(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    import symnet

    url, token, _ = lab
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1400, "height": 1000})
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{url}/lab/tree/02_activations.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            # the kernel must be up before "Run All" is useful
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                                   timeout=60_000)
            page.locator(".jp-Notebook .jp-Cell").first.click()
            page.locator(".lm-MenuBar-item", has_text="Run").first.click()
            page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
            # the last cell prints the softplus view; wait for it, then for the kernel to idle
            page.wait_for_selector("text=softplus at a = -2.5", timeout=300_000)  # a loaded CI machine
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            exact = page.locator(".symnet-value[data-name='exact']").last
            exact.wait_for()
            readout = page.locator(".widget-slider .widget-readout").last
            before_text, before_a = exact.inner_text(), _number(readout.inner_text())
            assert before_a == -2.5        # the lesson's last cell moved the slider there

            handle = page.locator(".widget-slider .noUi-handle").last
            handle.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "([sel, old]) => { const e = document.querySelectorAll(sel); "
                "return e.length && e[e.length - 1].innerText !== old; }",
                arg=[".symnet-value[data-name='exact']", before_text], timeout=30_000)
            after_a = _number(readout.inner_text())
            shown = _number(exact.inner_text())
            page.screenshot(path=str(artifacts / "jupyterlab_lesson02.png"), full_page=True)

            assert after_a == pytest.approx(-2.49, abs=1e-12)
            expected = float(symnet.activation("softplus").derivative_numpy(after_a))
            assert shown != float(before_text)
            assert shown == pytest.approx(expected, rel=1e-15)
            assert page.locator(".jp-OutputArea-output[data-mime-type="
                                "'application/vnd.jupyter.stderr']").count() == 0
            assert page.locator(".jp-RenderedText[data-mime-type="
                                "'application/vnd.jupyter.error']").count() == 0
            assert page.locator(".jp-InputPrompt", has_text="[*]").count() == 0
        except Exception:
            page.screenshot(path=str(artifacts / "jupyterlab_lesson02_failure.png"), full_page=True)
            raise
        finally:
            browser.close()

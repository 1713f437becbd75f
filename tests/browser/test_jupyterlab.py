"""A real browser: JupyterLab runs the lessons, controls move, the shown values are Python's.

Starts JupyterLab on 127.0.0.1 (free port, random token, a temporary root with
the lesson converted to .ipynb), opens it in headless Chromium through
Playwright (Debian's chromium, never a downloaded browser), runs all cells,
presses the right arrow on the slider of the activation widget, and asserts that
the value shown for h'(a) changed and equals what symnet computes for the
slider's new value. No cell may show an error or anything on stderr. A
screenshot goes to artifacts/ (gitignored).

Lessons 01, 03, 07, 10 and 11 are driven the same way: a slider (arrow key), a
dropdown (select) and a text box (type, Enter) change, and the value the page
shows is compared with what Python computes *in the notebook's own kernel* by a
second route (e.g. the forward pass for y_1, ``symnet.input_jacobian`` for J_11,
``symnet.verify`` for a typed formula), read through a second Jupyter client on
that kernel (``user_expressions``, parsed with ``ast.literal_eval``).

Skipped when Playwright, Chromium or JupyterLab are missing, unless the
environment variable CI is set: there, a missing piece fails the test.
"""
import ast
import contextlib
import json
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
DRIVEN = ["01_notation_forward_pass", "03_input_jacobian", "07_hessian",
          "10_check_your_derivation", "11_saliency_adversarial"]
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
    for lesson in [LESSON] + [ROOT / "lessons" / f"{name}.py" for name in DRIVEN]:
        make_notebook(lesson, root)
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


def test_slider_in_jupyterlab_shows_what_python_computes(lab, browser_page, tmp_path):
    import symnet

    page = browser_page
    with _lesson(lab, page, tmp_path, LESSON.stem) as notebook:
        # the last cell prints the softplus view: Run All reached it
        page.wait_for_selector("text=softplus at a = -2.5")
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

        assert after_a == pytest.approx(-2.49, abs=1e-12)
        expected = float(symnet.activation("softplus").derivative_numpy(after_a))
        assert shown != float(before_text)
        assert shown == pytest.approx(expected, rel=1e-15)
        assert page.locator(".jp-InputPrompt", has_text="[*]").count() == 0
        notebook.settle()


# --- the other lessons: one helper runs a notebook, another asks its kernel -----------------

class Notebook:
    """A lesson open in JupyterLab after "Run All", and a second client on its kernel."""

    def __init__(self, page, url, token, runtime, name):
        import jupyter_client

        self.page, self.name = page, name
        page.goto(f"{url}/lab/tree/{name}.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                               timeout=60_000)
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
        # every code cell numbered ([n], not [*] or [ ]): the whole lesson ran
        try:
            page.wait_for_function(
                "() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];"
                " return p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent)); }",
                timeout=300_000)
        except Exception:
            _screenshot(page, f"{name}_failure")
            errors = page.locator(".jp-OutputArea-output[data-mime-type="
                                  "'application/vnd.jupyter.stderr']").all_inner_texts()
            raise AssertionError(f"{name}: Run All did not finish; errors shown: "
                                 f"{[e[-1500:] for e in errors]}")
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
        sessions = json.load(urllib.request.urlopen(f"{url}/api/sessions?token={token}"))
        session = next(s for s in sessions if s["path"].endswith(name + ".ipynb"))
        self.session_url = f"{url}/api/sessions/{session['id']}?token={token}"
        kernel = session["kernel"]["id"]
        self.client = jupyter_client.BlockingKernelClient(
            connection_file=str(runtime / f"kernel-{kernel}.json"))
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def python(self, expression):
        """The value of a Python expression in the lesson's kernel (a literal: float, str...)."""
        reply = self.client.execute_interactive("", silent=True, timeout=60,
                                                user_expressions={"value": expression})
        found = reply["content"]["user_expressions"]["value"]
        assert found["status"] == "ok", f"{expression}: {found}"
        return ast.literal_eval(found["data"]["text/plain"])

    def cell(self, source_text):
        """The cell whose code contains ``source_text`` (its output holds the widget)."""
        cell = self.page.locator(".jp-CodeCell", has_text=source_text)
        assert cell.count() == 1, f"{self.name}: {cell.count()} cells with {source_text!r}"
        cell.scroll_into_view_if_needed()
        return cell

    def shown(self, cell, name):
        return cell.locator(f".symnet-value[data-name='{name}']").last

    def press_slider(self, cell, description, key="ArrowRight"):
        """Move one slider a step; return its new readout (after the panel redrew)."""
        slider = cell.locator(".widget-slider", has=self.page.locator(
            ".widget-label", has_text=description)).first
        old = slider.locator(".widget-readout").inner_text()
        slider.locator(".noUi-handle").focus()
        self.page.keyboard.press(key)
        self.page.wait_for_function(
            "([e, old]) => e.innerText !== old",
            arg=[slider.locator(".widget-readout").element_handle(), old], timeout=30_000)
        self.settle()
        return _number(slider.locator(".widget-readout").inner_text())

    def settle(self):
        self.page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
        self.page.wait_for_timeout(300)        # the comm's output message reaching the page

    def assert_no_error(self):
        page = self.page
        assert page.locator(".jp-OutputArea-output[data-mime-type="
                            "'application/vnd.jupyter.stderr']").count() == 0, self.name
        assert page.locator(".jp-RenderedText[data-mime-type="
                            "'application/vnd.jupyter.error']").count() == 0, self.name
        assert page.locator(".symnet-error").count() == 0, self.name

    def close(self):
        """Stop the second client and shut the lesson's kernel down (the next lesson's
        Run All should not share the two cores with an idle kernel's clean-up)."""
        self.client.stop_channels()
        request = urllib.request.Request(self.session_url, method="DELETE")
        urllib.request.urlopen(request, timeout=30)


@pytest.fixture
def browser_page(tmp_path):
    from playwright.sync_api import sync_playwright

    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1400, "height": 1000})
        page = browser.new_page()
        page.set_default_timeout(60_000)
        try:
            yield page
        finally:
            browser.close()


@contextlib.contextmanager
def _lesson(lab, page, tmp_path, name):
    """The lesson after Run All; on leaving, no error on the page, a screenshot, shut down."""
    url, token, _ = lab
    notebook = Notebook(page, url, token, tmp_path / "runtime", name)
    try:
        yield notebook
        notebook.assert_no_error()
        _screenshot(page, name)
    finally:
        notebook.close()


def _screenshot(page, name):
    page.screenshot(path=str(ROOT / "artifacts" / f"jupyterlab_{name}.png"), full_page=True)


def test_lesson_01_input_slider_moves_y_as_the_forward_pass_says(lab, browser_page, tmp_path):
    with _lesson(lab, browser_page, tmp_path, DRIVEN[0]) as notebook:
        cell = notebook.cell("explorer = widgets.forward_explorer(")
        x_1 = notebook.press_slider(cell, "x_1")
        x_2 = _number(cell.locator(".widget-slider", has=browser_page.locator(
            ".widget-label", has_text="x_2")).first.locator(".widget-readout").inner_text())
        assert x_1 == pytest.approx(notebook.python("explorer.controls['x1'].value"), abs=1e-12)
        expected = notebook.python(
            f"float(explorer.fixed['net'].forward([[{x_1!r}, {x_2!r}]], explorer.fixed['w'])[0, 0])")
        assert _number(notebook.shown(cell, "y_1").inner_text()) == pytest.approx(expected,
                                                                                 rel=1e-13)


def test_lesson_03_jacobian_slider_shows_symnets_input_jacobian(lab, browser_page, tmp_path):
    with _lesson(lab, browser_page, tmp_path, DRIVEN[1]) as notebook:
        cell = notebook.cell("panel = widgets.jacobian_explorer(")
        notebook.press_slider(cell, "x_1")
        x = notebook.python("[float(panel.controls[f'x{i + 1}'].value) "
                            "for i in range(panel.fixed['net'].sizes[0])]")
        expected = notebook.python(
            f"float(symnet.input_jacobian(panel.fixed['net']).evaluate([{x!r}], "
            "panel.fixed['w'])[0, 0, 0])")
        assert _number(notebook.shown(cell, "J_11").inner_text()) == pytest.approx(expected,
                                                                                  rel=1e-12)


def test_lesson_07_step_slider_shows_the_step_from_lambda_max(lab, browser_page, tmp_path):
    with _lesson(lab, browser_page, tmp_path, DRIVEN[2]) as notebook:
        cell = notebook.cell("panel = widgets.step_size_explorer(")
        fraction = notebook.press_slider(cell, "step")
        expected = notebook.python(
            f"float(2 * {fraction!r} / np.linalg.eigvalsh(panel.fixed['hessian']).max())")
        assert _number(notebook.shown(cell, "step").inner_text()) == pytest.approx(expected,
                                                                                  rel=1e-12)


def test_lesson_10_dropdown_and_text_boxes_show_what_verify_says(lab, browser_page, tmp_path):
    page = browser_page
    with _lesson(lab, browser_page, tmp_path, DRIVEN[3]) as notebook:
        cell = notebook.cell("panel = widgets.verify_explorer(")
        formula = "delta_1^(2) z_1^(1)"
        cell.locator(".widget-dropdown select").select_option(label="dE/dw_11^(2)")
        notebook.settle()
        box = cell.locator(".widget-text input").first
        box.fill(formula)
        box.press("Enter")
        notebook.settle()
        expected = notebook.python(
            f"bool(symnet.verify({formula!r}, 'dE/dw_11^(2)', net=panel.fixed['net'], "
            "loss=panel.fixed['loss']).equal)")
        page.wait_for_function(
            "([e, want]) => e.innerText === want",
            arg=[notebook.shown(cell, "equal").element_handle(), str(expected)],
            timeout=30_000)
        assert expected is True
        # the same formula for another target from the dropdown: not equal, as verify says
        cell.locator(".widget-dropdown select").select_option(label="delta_1^(1)")
        notebook.settle()
        expected = notebook.python(
            f"bool(symnet.verify({formula!r}, 'delta_1^(1)', net=panel.fixed['net'], "
            "loss=panel.fixed['loss']).equal)")
        assert expected is False
        page.wait_for_function(
            "([e, want]) => e.innerText === want",
            arg=[notebook.shown(cell, "equal").element_handle(), "False"], timeout=30_000)

        # an exercise box: it starts empty, and a typed wrong answer gets verify's verdict
        exercise = notebook.cell("widgets.exercise_box(questions[0])")
        assert exercise.locator(".symnet-feedback").last.get_attribute("data-status") == "empty"
        typed = "(t_1 - y_1) z_1^(1)"
        entry = exercise.locator(".widget-text input").first
        entry.fill(typed)
        entry.press("Enter")
        notebook.settle()
        equal = notebook.python(
            f"bool(symnet.verify({typed!r}, questions[0].target, net=questions[0].net, "
            "loss=questions[0].loss).equal)")
        page.wait_for_function(
            "([e, want]) => e.getAttribute('data-status') === want",
            arg=[exercise.locator(".symnet-feedback").last.element_handle(),
                 "equal" if equal else "not_equal"], timeout=30_000)


def test_lesson_11_epsilon_slider_shows_the_attacked_accuracy(lab, browser_page, tmp_path):
    with _lesson(lab, browser_page, tmp_path, DRIVEN[4]) as notebook:
        cell = notebook.cell("panel = widgets.attack_explorer(")
        epsilon = notebook.press_slider(cell, "epsilon")
        # the attack by a second route: dE/dx = -(1/y_c) dy_c/dx for label c (softmax with
        # cross-entropy), from symnet.input_jacobian of the outputs y, not of a
        expected = notebook.python(
            "(lambda f: (lambda net, w, X, c: float(np.mean(net.forward(np.clip(X + "
            f"{epsilon!r} * np.sign(-np.take_along_axis(symnet.input_jacobian(net).evaluate(X, w),"
            " c[:, None, None], 1)[:, 0, :] / np.take_along_axis(net.forward(X, w), c[:, None], 1)),"
            " 0, 1), w).argmax(1) == c)))(f['net'], f['w'], np.asarray(f['X']), "
            "np.asarray(f['labels'])))(panel.fixed)")
        assert _number(notebook.shown(cell, "attacked").inner_text()) == pytest.approx(
            expected, abs=1e-15)

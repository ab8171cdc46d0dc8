"""End to end in a real browser: JupyterLab on localhost, Debian's Chromium driven by
Playwright.

- A learner opens a notebook with `bc.take_quiz("00_start_here")` and first sees the saved static
  fallback (the questions), runs it, answers the first question wrongly with the mouse, then
  rightly with the keyboard, reloads the page, restarts the kernel and re-runs everything, and
  must still see the earlier answer and score.
- Keyboard only: arrow keys move between a question's options without JupyterLab taking them,
  Enter in a text answer checks it, the focus ring is strong, numbers are accepted as the
  notebooks print them ("1,024", "340M"), and the chosen option stays marked after Check.
- bertviz (notebook 02's `bertviz_view`) draws in JupyterLab 4 when its CDN scripts arrive
  (served here from the npm packages, installed at test time, by intercepting the requests),
  and shows a note pointing to the offline explorer when the network is blocked.

Screenshots go to test-artifacts/. Needs the `chromium` Debian package (`apt-get install
chromium`) and, for bertviz, npm; each is skipped without it, except under CI (CI set),
where anything missing is a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

from bertcourse.quiz.bank import load_bank
from bertcourse.quiz.store import ProgressStore
from bertcourse.quiz.widget import QuizView

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOT = ARTIFACTS / "quiz_browser.png"
WRONG = "Binary Embedding Retrieval with Transformers"
RIGHT = "Bidirectional Encoder Representations from Transformers"
STEP_MS = 45_000
# What bertviz's page asks cdnjs for -> (npm package, file in it). jQuery 2.0.0 was never published
# to npm; 2.1.0 is the nearest release of the same major version.
CDN_FILES = {"/ajax/libs/d3/5.7.0/d3.min.js": ("d3@5.7.0", "dist/d3.min.js"),
             "/ajax/libs/jquery/2.0.0/jquery.min.js": ("jquery@2.1.0", "dist/jquery.min.js")}
BERTVIZ_CELL = """import torch
from bertcourse.attention import bertviz_view

weights = torch.softmax(torch.randn(2, 3, 5, 5, generator=torch.Generator().manual_seed(0)), dim=-1)
bertviz_view("head", weights, ["[CLS]", "the", "cat", "sat", "[SEP]"])"""
EXPLORER_CELL = """from bertcourse.attention import AttentionExplorer

tokens = [f"token{i}" for i in range(17)]   # notebook 02's sentence has 17 tokens
AttentionExplorer(tokens, torch.softmax(torch.randn(2, 3, 17, 17), dim=-1))"""


def missing(what: str) -> None:
    """Skip where a tool is missing, but fail under CI, which must run everything."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser test: {what}", pytrace=False)
    pytest.skip(what)


if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail("CI must run the browser test: install Debian's chromium package", pytrace=False)
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_notebook(path: Path, cells: list[dict]) -> None:
    path.write_text(json.dumps({
        "cells": cells, "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    }))


def code_cell(cell_id: str, source: str, outputs: list[dict] | None = None) -> dict:
    return {"cell_type": "code", "execution_count": 1 if outputs else None, "id": cell_id, "metadata": {},
            "outputs": outputs or [], "source": source}


def write_quiz_notebook(path: Path, scratch_db: Path, below: str | None = None) -> None:
    """The notebook as a learner gets it from the course: saved with the quiz cell's output
    but no widget state, so until it runs only the static fallback can be shown. `below`
    adds a markdown cell after it (a cell JupyterLab could wrongly move to)."""
    bundle = QuizView(load_bank("00_start_here"), ProgressStore(scratch_db), {})._repr_mimebundle_()
    output = {"output_type": "display_data", "data": bundle, "metadata": {}}
    cells = [code_cell("quiz-cell", 'import bertcourse as bc\nbc.take_quiz("00_start_here")', [output])]
    if below is not None:
        cells.append({"cell_type": "markdown", "id": "below", "metadata": {}, "source": below})
    write_notebook(path, cells)


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: `url(name)` opens a notebook of `root`."""

    base: str
    token: str
    root: Path
    progress: Path

    def url(self, notebook: str) -> str:
        return f"{self.base}/lab/tree/{notebook}?token={self.token}"


@pytest.fixture
def lab(tmp_path) -> Iterator[Lab]:
    """A JupyterLab server (our process, stopped afterwards) with its own progress database."""
    root = tmp_path / "root"
    root.mkdir()
    # no "get notified about Jupyter news?" pop-up over the screenshots
    notification = tmp_path / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false"}))
    port, token = free_port(), secrets.token_hex(16)
    progress = tmp_path / "progress.sqlite"
    env = {**os.environ, "BERTCOURSE_PROGRESS": str(progress), "BERTCOURSE_HOME": str(tmp_path / "home"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"), "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime")}
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.allow_root=True", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
         f"--LabApp.user_settings_dir={tmp_path / 'settings'}"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log_tail = (tmp_path / "lab.log").read_text()[-3000:]
                    raise RuntimeError("JupyterLab did not start:\n" + log_tail) from None
                time.sleep(0.3)
        yield Lab(base, token, root, progress)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def run_all(page, restart: bool = False) -> None:
    page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session", timeout=STEP_MS)
    # Start the command without awaiting its promise: restarting waits for the dialog below.
    command = "notebook:restart-run-all" if restart else "notebook:run-all-cells"
    page.evaluate(f"() => {{ window.jupyterapp.commands.execute('{command}'); }}")
    if restart:
        page.locator(".jp-Dialog .jp-mod-accept").click(timeout=STEP_MS)


@pytest.fixture
def browser() -> Iterator:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def cdn_files(tmp_path_factory) -> dict[str, Path]:
    """bertviz's CDN scripts, from their npm packages installed now into a scratch folder."""
    npm = shutil.which("npm")
    if npm is None:
        missing("the bertviz check needs npm (Node.js) to fetch d3 and jQuery")
    folder = tmp_path_factory.mktemp("npm")
    packages = sorted({package for package, _ in CDN_FILES.values()})
    done = subprocess.run([npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--no-save",
                           "--no-package-lock", *packages], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        missing(f"npm could not install {', '.join(packages)}: {done.stderr[-500:]}")
    files = {url: folder / "node_modules" / package.rsplit("@", 1)[0] / path for url, (package, path) in CDN_FILES.items()}
    assert all(path.is_file() for path in files.values()), files
    return files


def block_the_internet(target, serve: dict[str, Path] | None = None) -> list[str]:
    """Let a page or context reach only localhost; requests for `serve`'s CDN paths are
    answered from those files. Returns the list of CDN paths answered, filled as it happens."""
    answered: list[str] = []

    def handle(route) -> None:
        url = urlparse(route.request.url)
        if url.hostname == "127.0.0.1":
            route.fallback()
        elif serve and url.hostname == "cdnjs.cloudflare.com" and url.path in serve:
            answered.append(url.path)
            route.fulfill(path=str(serve[url.path]), content_type="text/javascript")
        else:
            route.abort("internetdisconnected")

    target.route("**/*", handle)
    return answered


def test_answer_survives_reload_and_kernel_restart(lab, browser):
    write_quiz_notebook(lab.root / "quiz_test.ipynb", lab.root.parent / "render.sqlite")
    expect = sync_api.expect
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(lab.url("quiz_test.ipynb"))
        # before running: the saved output's static fallback, not a blank or an error
        output = page.locator(".jp-OutputArea-output").first
        expect(output).to_contain_text("Quiz: Knowledge Check: BERT fundamentals (14 questions", timeout=STEP_MS)
        expect(output).to_contain_text("What does the name BERT stand for?")
        run_all(page)
        first = page.locator(".bertcourse-question").first
        score = page.locator(".bertcourse-quiz .widget-html").last
        expect(first).to_contain_text("What does the name BERT stand for?", timeout=STEP_MS)

        # wrong, with the mouse
        first.get_by_role("radio", name=WRONG).check()
        first.get_by_role("button", name="Check", exact=True).click()  # waits until enabled
        expect(first).to_contain_text("✗ Incorrect.")
        expect(score).to_contain_text("Score: 0 of 14 correct · 1 of 14 answered")

        # right, with the keyboard only
        # (each step waits for the kernel's answer: controls are re-enabled from Python)
        first.get_by_role("button", name="Try again").focus()
        page.keyboard.press("Enter")
        right = first.get_by_role("radio", name=RIGHT)
        expect(right).to_be_enabled()
        right.focus()
        page.keyboard.press("Space")
        expect(right).to_be_checked()
        check = first.get_by_role("button", name="Check", exact=True)
        expect(check).to_be_enabled()
        check.focus()
        page.keyboard.press("Enter")
        expect(first).to_contain_text("✓ Correct.")
        expect(first).to_contain_text("Why:")
        expect(score).to_contain_text("Score: 1 of 14 correct · 1 of 14 answered")

        page.reload()
        run_all(page, restart=True)
        first = page.locator(".bertcourse-question").first
        expect(first).to_contain_text(f"Your previous answer: {RIGHT}. ✓ Correct.", timeout=STEP_MS)
        expect(first.get_by_role("radio", name=RIGHT)).to_be_checked()
        expect(page.locator(".bertcourse-quiz .widget-html").last).to_contain_text(
            "Score: 1 of 14 correct · 1 of 14 answered")
    finally:
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    with sqlite3.connect(lab.progress) as con:
        rows = con.execute("SELECT question, correct FROM attempts ORDER BY id").fetchall()
    assert rows == [("bert_acronym", 0), ("bert_acronym", 1)]


def question(page, text: str):
    return page.locator(".bertcourse-question", has_text=text)


def active_cell(page) -> tuple[int, str]:
    return tuple(page.evaluate("() => { const nb = window.jupyterapp.shell.currentWidget.content;"
                               " return [nb.activeCellIndex, nb.mode]; }"))


def test_keyboard_only_quiz(lab, browser):
    """Arrow keys stay in the quiz, Enter in a text answer checks it, the focus ring is strong,
    numbers count as the notebooks print them, and the chosen answer stays marked."""
    write_quiz_notebook(lab.root / "keys.ipynb", lab.root.parent / "render.sqlite", below="A cell below the quiz.")
    expect = sync_api.expect
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(lab.url("keys.ipynb"))
        run_all(page)
        first = question(page, "What does the name BERT stand for?")
        radios = first.get_by_role("radio")
        expect(radios.first).to_be_enabled(timeout=STEP_MS)
        count = radios.count()
        page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0")
        radios.first.focus()
        page.keyboard.press("Space")
        expect(radios.first).to_be_checked()
        # Down and Right go to the next option, Up and Left back, wrapping around; the notebook's
        # active cell and mode do not change (JupyterLab would move to the cell below)
        for key, index in [("ArrowDown", 1), ("ArrowRight", 2 % count), ("ArrowUp", 1), ("ArrowLeft", 0),
                           ("ArrowUp", count - 1)]:
            page.keyboard.press(key)
            expect(radios.nth(index)).to_be_checked()
            expect(radios.nth(index)).to_be_focused()
            assert active_cell(page) == (0, "command"), key
        page.keyboard.press("Enter")  # on a radio: nothing happens, in particular not to the cell below
        assert active_cell(page) == (0, "command")
        for _ in range(count):  # walk to the right answer with the arrow keys alone
            if first.get_by_role("radio", name=RIGHT).is_checked():
                break
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Tab")  # one Tab from the options to Check: only the current option is a Tab stop
        check = first.get_by_role("button", name="Check", exact=True)
        expect(check).to_be_focused()
        page.keyboard.press("Shift+Tab")
        expect(first.get_by_role("radio", name=RIGHT)).to_be_focused()
        page.keyboard.press("Tab")
        expect(check).to_be_focused()
        ring = check.evaluate("b => { const s = getComputedStyle(b); return [s.outlineStyle, s.outlineWidth]; }")
        assert ring == ["solid", "3px"], ring
        first.screenshot(path=str(ARTIFACTS / "quiz_focus_ring.png"))
        page.keyboard.press("Enter")
        expect(first).to_contain_text(f"Your answer: {RIGHT}. ✓ Correct.")

        # the chosen answer after Check: disabled, but at full strength, bold, highlighted and labelled
        chosen = first.locator("label", has=page.get_by_role("radio", name=RIGHT))
        expect(first.get_by_role("radio", name=RIGHT)).to_be_disabled()
        look = chosen.evaluate("""label => {
            const s = getComputedStyle(label), after = getComputedStyle(label, '::after');
            return [s.opacity, s.fontWeight, s.backgroundColor, after.content]; }""")
        assert look == ["1", "600", "rgb(219, 234, 254)", '"◀ your answer"'], look
        first.screenshot(path=str(ARTIFACTS / "quiz_chosen_answer.png"))

        # numbers as the notebooks print them, each answered with Enter in the text field
        for text, typed, verdict in [
            ("hidden size (the length of each token's vector) of BERT-Large", "1,02",
             "⚠ Please enter a number (for example 12, 0.5, 1e3, 30,522, 1.2K, 340M or 3B)"),
            ("hidden size (the length of each token's vector) of BERT-Large", "1,024", "✓ Correct"),
            ("About how many parameters does BERT-Large have, in millions?", "340M", "✓ Correct"),
            ("Which special token replaces most", "mask", "✗ Incorrect: “mask” is not an accepted answer."),
        ]:
            box = question(page, text)
            field = box.get_by_role("textbox")
            field.focus()
            page.keyboard.press("Control+A")
            page.keyboard.type(typed)
            page.keyboard.press("Enter")
            expect(box).to_contain_text(verdict)
            assert active_cell(page)[0] == 0
        expect(question(page, "Which special token replaces most")).to_contain_text(
            "the form the question asks for: Type it with its brackets.")
        expect(page.locator(".bertcourse-quiz .widget-html").last).to_contain_text(
            "Score: 3 of 14 correct · 4 of 14 answered (your latest answer to each question counts)")
    finally:
        page.screenshot(path=str(ARTIFACTS / "quiz_keyboard.png"), full_page=True)


def test_bertviz_draws_online_and_points_to_the_explorer_offline(lab, browser, cdn_files):
    import torch

    from bertcourse.attention import bertviz_view

    # saved as a committed notebook is: with the output of an earlier run, whose scripts a
    # notebook opened from disk does not run (JupyterLab trusts only outputs it made itself)
    saved = bertviz_view("head", torch.softmax(torch.randn(2, 3, 5, 5), dim=-1), ["[CLS]", "a", "b", "c", "[SEP]"])
    output = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
              "data": {"text/html": saved._repr_html_(), "text/plain": repr(saved)}}
    write_notebook(lab.root / "bertviz.ipynb", [code_cell("bertviz-cell", BERTVIZ_CELL, [output]),
                                                code_cell("explorer-cell", EXPLORER_CELL)])
    expect = sync_api.expect
    for online in (True, False):
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        answered = block_the_internet(context, cdn_files if online else None)
        page = context.new_page()
        name = "bertviz_online.png" if online else "bertviz_offline.png"
        try:
            page.goto(lab.url("bertviz.ipynb"))
            if online:  # before running: the note, not an error box or an empty "Layer:" menu
                note = page.locator(".jp-OutputArea-output").first
                expect(note).to_contain_text("This bertviz view draws when the cell runs", timeout=STEP_MS)
                expect(note).not_to_contain_text("Layer:")
                note.screenshot(path=str(ARTIFACTS / "bertviz_saved.png"))
            run_all(page, restart=not online)  # the second visit re-runs in a fresh kernel
            box = page.locator(".bertcourse-bertviz")
            expect(box).to_have_count(1, timeout=STEP_MS)
            outputs = page.locator(".jp-Notebook")
            if online:
                expect(box.locator("svg").first).to_be_visible(timeout=STEP_MS)
                expect(box.locator("select#layer option")).to_have_count(2)  # one per layer
                expect(box.locator(".bertcourse-bertviz-note")).to_have_count(0)
                assert sorted(set(answered)) == sorted(CDN_FILES)
                # the attention explorer: heatmap at its own size, right of its controls, all on one screen
                image = page.locator(".widget-image").first
                expect(image).to_be_visible(timeout=STEP_MS)
                image.scroll_into_view_if_needed()
                picture, slider = image.bounding_box(), page.locator(".widget-slider").first.bounding_box()
                assert picture["width"] <= 440 + 64 and picture["height"] <= 440, picture  # with its colour scale
                assert slider["x"] + slider["width"] <= picture["x"] and slider["y"] < picture["y"] + picture["height"]
                page.locator(".jp-Cell").nth(1).screenshot(path=str(ARTIFACTS / "attention_explorer.png"))
            else:
                expect(box).to_contain_text("could not load its scripts", timeout=STEP_MS)
                expect(box).to_contain_text("Use the attention explorer above (AttentionExplorer)")
                expect(box.locator("select#layer")).to_be_hidden()
                assert answered == []
            expect(outputs).not_to_contain_text("require is not defined")
            expect(outputs).not_to_contain_text("Javascript Error")
        finally:
            page.screenshot(path=str(ARTIFACTS / name), full_page=True)
            context.close()

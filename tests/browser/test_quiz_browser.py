"""End to end in a real browser: JupyterLab on localhost, Debian's Chromium driven by
Playwright. A learner opens a notebook with `quiz("00_start_here")` and first sees the
saved static fallback (the questions), runs it, answers the first question wrongly with the
mouse, then rightly with the keyboard, reloads the page, restarts the kernel and re-runs
everything, and must still see the earlier answer and score.

Needs the `chromium` Debian package (`apt-get install chromium`); skipped without it,
except under CI (CI set), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bertcourse.quiz.bank import load_bank
from bertcourse.quiz.store import ProgressStore
from bertcourse.quiz.widget import QuizView

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "test-artifacts" / "quiz_browser.png"
WRONG = "Binary Embedding Retrieval with Transformers"
RIGHT = "Bidirectional Encoder Representations from Transformers"
STEP_MS = 45_000

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail("CI must run the browser test: install Debian's chromium package", pytrace=False)
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_notebook(path: Path, scratch_db: Path) -> None:
    """The notebook as a learner gets it from the course: saved with the quiz cell's output
    but no widget state, so until it runs only the static fallback can be shown."""
    bundle = QuizView(load_bank("00_start_here"), ProgressStore(scratch_db), {})._repr_mimebundle_()
    output = {"output_type": "display_data", "data": bundle, "metadata": {}}
    cell = {"cell_type": "code", "execution_count": 1, "id": "quiz-cell", "metadata": {}, "outputs": [output],
            "source": ['from bertcourse.quiz import quiz\n', 'quiz("00_start_here")']}
    path.write_text(json.dumps({
        "cells": [cell], "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    }))


@pytest.fixture
def lab(tmp_path) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server (our process, stopped afterwards) serving a one-cell notebook."""
    root = tmp_path / "root"
    root.mkdir()
    write_notebook(root / "quiz_test.ipynb", tmp_path / "render.sqlite")
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
        yield f"{base}/lab/tree/quiz_test.ipynb?token={token}", progress
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


def test_answer_survives_reload_and_kernel_restart(lab):
    url, progress = lab
    expect = sync_api.expect
    SCREENSHOT.parent.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        try:
            page.goto(url)
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
            browser.close()
    with sqlite3.connect(progress) as con:
        rows = con.execute("SELECT question, correct FROM attempts ORDER BY id").fetchall()
    assert rows == [("bert_acronym", 0), ("bert_acronym", 1)]

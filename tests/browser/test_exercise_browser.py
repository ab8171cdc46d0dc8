"""A coding exercise end to end in JupyterLab: a learner types a wrong WordPiece into the stub
cell, checks it and reads which test failed and why; types a right one, checks again and passes;
reloads the page and still finds the pass recorded in the course-progress widget and the
progress database. The solutions typed are the course's own sealed ones, unsealed at run time,
so this file does not show them either. Same servers, browser and skips as test_quiz_browser.py.
"""

from __future__ import annotations

import sqlite3

from test_quiz_browser import ARTIFACTS, STEP_MS, browser, code_cell, lab, run_all, sync_api, write_notebook

from bertcourse.quiz.exercises import catalog, engine

__all__ = ["browser", "lab"]  # fixtures used by the test below
EXERCISE = "01_wordpiece_offsets"
SCREENSHOT = ARTIFACTS / "exercise_browser.png"


def type_into_first_cell(page, source: str) -> None:
    """Replace the first cell's code as a learner would: click into it, select all, type."""
    editor = page.locator(".jp-Cell").first.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(source)  # text as typed, without the editor's auto-indent on each Enter


def test_wrong_then_right_then_reload(lab, browser):
    item, exercise = engine.declaration(EXERCISE)
    wrong = next(w for w in item.wrong_variants() if w.name == "shortest_first")
    write_notebook(lab.root / "exercise.ipynb", [
        code_cell("stub", exercise.stub),
        code_cell("check", f'import bertcourse as bc\n\n{item.function} = bc.check("{EXERCISE}", {item.function})'),
        code_cell("progress", "import bertcourse as bc\n\nbc.course_progress()"),
    ])
    expect = sync_api.expect
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    try:
        page.goto(lab.url("exercise.ipynb"))
        result = page.locator(".bertcourse-exercise")
        run_all(page)
        expect(result).to_contain_text("not started", timeout=STEP_MS)

        type_into_first_cell(page, wrong.source)
        run_all(page)
        expect(result).to_contain_text("✗ failed", timeout=STEP_MS)
        expect(result).to_contain_text(wrong.fails)
        expect(result).to_contain_text(wrong.says)
        expect(result).to_contain_text("hint:")
        expect(result).not_to_contain_text("Traceback")

        type_into_first_cell(page, item.solution_source())
        run_all(page)
        expect(result).to_contain_text(f"{len(exercise.tests)} of {len(exercise.tests)} tests pass", timeout=STEP_MS)
        progress = page.locator(".bertcourse-progress-summary", has_text="Tokenization check:")
        expect(progress).to_contain_text("exercises: 1 of 1 passed")

        page.reload()
        run_all(page, restart=True)
        expect(page.locator(".bertcourse-progress-summary", has_text="Tokenization check:")).to_contain_text(
            "exercises: 1 of 1 passed", timeout=STEP_MS)
        # the saved stub came back (the edits were not saved): the check cell still says how it went
        expect(result).to_contain_text("Your latest recorded check passed.")
    finally:
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    with sqlite3.connect(lab.progress) as con:
        rows = con.execute("SELECT question, correct FROM attempts ORDER BY id").fetchall()
    assert rows[:2] == [(f"exercise:{EXERCISE}", 0), (f"exercise:{EXERCISE}", 1)]
    assert all(question == f"exercise:{EXERCISE}" for question, _ in rows)

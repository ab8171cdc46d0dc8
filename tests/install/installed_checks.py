"""Run by tests/install/test_installed_package.py with the Python of a fresh virtualenv that holds the
built wheel, in the folder `bertcourse start` filled: no clone is on its path.

It executes the lessons given on the command line with nbclient (as JupyterLab or VS Code would
run them, from that folder), then checks one quiz answer and one coding exercise through the
installed package, and prints one JSON object: where `bertcourse` was imported from, in this
process and in a notebook kernel, each notebook's status and seconds, and the two checks.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

KERNEL_PROBE = "import sys, bertcourse\nprint(bertcourse.__file__)\nprint(sys.executable)"


def execute(notebook: nbformat.NotebookNode, folder: Path) -> None:
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()


def run_lesson(path: Path) -> dict[str, Any]:
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    try:
        execute(notebook, path.parent)
        error = ""
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
        error = str(err)[-2000:]
    return {"name": path.name, "ok": not error, "error": error, "seconds": round(time.perf_counter() - started, 1)}


def kernel_import_location(folder: Path) -> list[str]:
    """What a kernel started in the lessons' folder imports: the printed module file and Python."""
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(KERNEL_PROBE)])
    execute(probe, folder)
    return probe.cells[0].outputs[0]["text"].split()


def quiz_check() -> dict[str, Any]:
    """Answer 00's first question through the quiz widget, wrongly then rightly, as a learner clicks."""
    from bertcourse.quiz.bank import load_bank
    from bertcourse.quiz.store import ProgressStore
    from bertcourse.quiz.widget import QuizView

    store = ProgressStore()
    question = QuizView(load_bank("00_start_here"), store, {}).questions[0]
    verdicts = []
    for text in ("Binary Embedding Retrieval", "Bidirectional Encoder Representations from Transformers"):
        question.answer.value = next(c.id for c in question.question.choices if c.text.startswith(text))
        question.check_button.click()
        verdicts.append(question.feedback.value)
        question.retry_button.click()
    stored = [(a.question, a.correct) for a in store.attempts("00_start_here")]
    return {"question": question.question.id, "verdicts": verdicts, "stored": stored}


def exercise_check() -> dict[str, Any]:
    """Check 01's exercise with a known-wrong variant and with the reference, from the sealed files."""
    from bertcourse import check
    from bertcourse.quiz.exercises.catalog import compile_function, entry
    from bertcourse.quiz.store import ProgressStore

    item = entry("01_wordpiece_offsets")
    wrong = item.wrong_variants()[0]
    wrong_function = compile_function(wrong.source, item.function, "<wrong>")
    right_function = item.reference()
    kept = [check(item.id, wrong_function) is wrong_function, check(item.id, right_function) is right_function]
    stored = [a.correct for a in ProgressStore().attempts("01_tokenization") if a.question == item.question]
    return {"exercise": item.id, "stored": stored, "lesson_goes_on_with_the_learners_function": kept}


def main(folder: Path, lessons: list[str]) -> None:
    import bertcourse

    report = {"module": bertcourse.__file__, "python": sys.executable,
              "kernel": kernel_import_location(folder),
              "notebooks": [run_lesson(folder / name) for name in lessons],
              "quiz": quiz_check(), "exercise": exercise_check()}
    print("RESULT " + json.dumps(report))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])

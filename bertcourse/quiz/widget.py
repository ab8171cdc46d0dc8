"""The quiz widget shown at the end of each lesson, and the shared pieces of the course's widgets.

The course-progress view lives in `overview.py`, above this module and the exercises, because it
counts both; it registers here (`watch_progress`) to be refreshed after each checked answer.

Design choices:
- Every control is a native ipywidgets input or button with a visible `description` and a
  `tooltip`, so it has an accessible name and is reachable with Tab / Space / Enter.
  Buttons carry no icons: an icon-font glyph would become part of the accessible name.
- Feedback states the verdict in words with a ✓/✗ symbol; colour is only decoration.
- The learner-specific state (option order, previous answers, score) lives only in the
  live widget. The display bundle's text/plain and text/html, which nbval compares and
  which a notebook opened without a kernel (or on a static renderer) shows, is the quiz
  title and questions in bank order: identical for every learner and every run.
- Previous answers are read back from the progress database when the view is built, so
  restarting the kernel and re-running the cell shows them again.
- Each question's latest answer is the one that counts (as in the instructor's report); the
  score line says so, and "Try again" on a correct answer warns that a new answer replaces it.
- Keyboard: `QuizKeys` (quiz.js, an anywidget) marks the quiz so JupyterLab's command-mode
  shortcuts leave its keys alone, moves between radio options with the arrow keys (ipywidgets'
  radios are not one native group) and makes Enter in a text answer press Check. quiz.css keeps
  the chosen answer marked once the inputs are disabled; the focus ring, wrapping labels and
  focus kept on the controls after Check come from `bertcourse.course.controls`, shared with the
  other course widgets.
- A checkbox's hover text is its option, so an option is readable in full from the tooltip too.
- Renderers: only ipywidgets' core controls and one anywidget, which JupyterLab, VS Code and Colab
  all draw (Colab draws third-party widgets such as QuizKeys with its custom widget manager, which
  anywidget switches on when a QuizKeys is made there). Where QuizKeys cannot load, the quiz still
  works by mouse and Tab; only the arrow keys and Enter-to-check are lost.
"""

from __future__ import annotations

import html
import random
import re
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import anywidget
import ipywidgets as widgets
from IPython.display import display

from bertcourse.course import controls
from bertcourse.course.errors import CourseError

from .bank import Bank, Choice, Question, load_bank
from .computed import REGISTRY
from .grading import Grade, InvalidResponse, describe, grade
from .store import Attempt, ProgressError, ProgressStore

_WIDE = {"width": "auto"}  # a dict, so each widget gets its own Layout (none is made at import)
_LABEL_STYLE = {"description_width": "initial"}
_CODE = re.compile(r"`([^`]+)`")
_PROGRESS_VIEWS: weakref.WeakSet[Refreshable] = weakref.WeakSet()
_HERE = Path(__file__).parent
COUNTING_RULE = "your latest answer to each question counts"


class Refreshable(Protocol):
    """A widget that re-reads the progress store when asked (the course-progress view)."""

    def refresh(self) -> None: ...


def take_quiz(notebook_id: str, **live_values: Any) -> None:
    """Show `notebook_id`'s quiz. Computed questions take the live objects they need from
    `live_values`, e.g. `take_quiz("01_tokenization", tokenizer=tokenizer)`."""
    display(QuizView(load_bank(notebook_id), ProgressStore(), live_values))


def watch_progress(view: Refreshable) -> None:
    """Have `view` (a course-progress widget) refreshed after every answer or exercise check in
    this kernel. Views register here, below the quiz and the exercises, so both can announce a
    new record without importing the view, which itself counts exercises."""
    _PROGRESS_VIEWS.add(view)


def refresh_progress_views() -> None:
    """Update every course-progress widget in this kernel after an answer or exercise check."""
    for view in list(_PROGRESS_VIEWS):
        view.refresh()


def rich_text(text: str) -> str:
    """Escape bank text for HTML; `backticks` become <code>."""
    return _CODE.sub(r"<code>\1</code>", html.escape(text))


def status_html(symbol_text: str, colour: str) -> str:
    """A verdict line announced to screen readers (`role="status"`), colour only as a border."""
    return (f'<div role="status" aria-live="polite" style="border-left: 4px solid {colour}; '
            f'padding-left: 8px">{html.escape(symbol_text)}</div>')


def _shuffled(question: Question, seed: str) -> list[Choice]:
    """Options in a per-learner order: stable across reloads, different between learners."""
    return random.Random(f"{seed}:{question.id}").sample(question.choices, len(question.choices))


class QuizKeys(anywidget.AnyWidget):
    """Invisible helper inside a quiz: keyboard handling and styles (see quiz.js, quiz.css).
    Enter in a text answer arrives as a message with the text, passed to `on_submit(question
    index, text)`."""

    _esm = _HERE / "quiz.js"
    _css = _HERE / "quiz.css"

    def __init__(self, on_submit: Callable[[int, str], None]) -> None:
        super().__init__()
        self.on_submit = on_submit
        self.on_msg(self._message)

    def _message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("event") == "submit" and isinstance(content.get("question"), int) \
                and isinstance(content.get("value"), str):
            self.on_submit(content["question"], content["value"])


def tally(store: ProgressStore, bank: Bank) -> tuple[int, int]:
    """(correct, answered) over the bank's questions, from each one's latest attempt."""
    latest = store.latest(bank.notebook)
    answered = [latest[q.id] for q in bank.questions if q.id in latest]
    return sum(a.correct for a in answered), len(answered)


class QuestionView(widgets.VBox):
    """One question: prompt, answer input, Check / Hint / Try again, feedback."""

    def __init__(self, question: Question, number: int, notebook: str, store: ProgressStore,
                 seed: str, live_values: dict[str, Any], previous: Attempt | None,
                 on_record: Callable[[], None]) -> None:
        self.question = question
        self.notebook = notebook
        self.store = store
        self.on_record = on_record
        self.grade: Grade | None = None
        self.expected: float | None = None
        self.checkboxes: dict[str, widgets.Checkbox] = {}  # multiple-select only
        self.text_field: widgets.Text | None = None  # numeric, text and computed only
        prompt = widgets.HTML(f"<p><strong>Question {number}.</strong> {rich_text(question.display_text)}</p>")
        self.answer = self._make_input(question, number, seed)
        self.check_button = widgets.Button(description="Check", button_style="primary",
                                           tooltip=f"Check your answer to question {number}")
        self.check_button.add_class("bertcourse-check")  # Enter in a text answer presses it (quiz.js)
        self.hint_button = widgets.Button(description="Hint",
                                          tooltip=f"Show a hint for question {number}")
        self.retry_button = widgets.Button(description="Try again", disabled=True,
                                           tooltip=f"Answer question {number} again")
        self.retry_button.add_class("bertcourse-retry")  # where focus goes after Check (controls.js)
        self.feedback = widgets.HTML()
        self.explanation = widgets.HTML()
        self.hint = widgets.HTML()
        self.check_button.on_click(self._on_check)
        self.hint_button.on_click(self._on_hint)
        self.retry_button.on_click(self._on_retry)
        buttons = widgets.HBox([self.check_button, self.hint_button, self.retry_button])
        super().__init__([prompt, self.answer, buttons, self.feedback, self.hint, self.explanation],
                         layout=widgets.Layout(margin="0 0 1em 0"))
        self.add_class("bertcourse-question")  # a stable hook for styling and browser tests
        if question.type == "computed" and not self._compute(live_values):
            return
        if previous is not None:
            self._restore(previous.response)

    # -- building -----------------------------------------------------------------------

    def _make_input(self, question: Question, number: int, seed: str) -> widgets.Widget:
        tooltip = f"Your answer to question {number}"
        if question.type == "single":
            options = [(c.text, c.id) for c in _shuffled(question, seed)]
            return widgets.RadioButtons(options=options, value=None, description="Answer",
                                        tooltip=tooltip, style=_LABEL_STYLE, layout=_WIDE)
        if question.type == "multiple":
            self.checkboxes = {c.id: widgets.Checkbox(description=c.text, indent=False, tooltip=c.text,
                                                      layout=_WIDE)
                               for c in _shuffled(question, seed)}
            note = widgets.HTML("<em>Select every option that applies.</em>")
            return widgets.VBox([note, *self.checkboxes.values()])
        placeholder = "a number" if question.type in ("numeric", "computed") else "a word or short phrase"
        field = widgets.Text(description="Answer", placeholder=placeholder, tooltip=tooltip,
                             style=_LABEL_STYLE)
        self.text_field = field
        return widgets.HBox([field, widgets.Label(question.unit)]) if question.unit else field

    def _compute(self, live_values: dict[str, Any]) -> bool:
        """Work out a computed question's answer; if that fails, say why and disable it."""
        function = REGISTRY[self.question.compute]
        missing = [name for name in function.needs if name not in live_values]
        if missing:
            names = ", ".join(f"{n}={n}" for n in missing)
            return self._unavailable(f"This question needs your notebook's {' and '.join(missing)}: "
                                     f"run bc.take_quiz(\"{self.notebook}\", {names}).")
        try:
            self.expected = function(live_values, dict(self.question.args))
        except Exception as error:  # learner objects can fail in any way: show it, never raise
            return self._unavailable(f"Could not compute this answer from {', '.join(function.needs)} "
                                     f"({type(error).__name__}: {error}).")
        return True

    def _unavailable(self, message: str) -> bool:
        self.feedback.value = status_html(f"⚠ {message}", "#b26b00")
        self.set_enabled(False)
        self.retry_button.disabled = True
        return False

    # -- reading and writing the input ----------------------------------------------------

    def response(self) -> dict[str, Any]:
        """The current input as a grading response (see grading.py)."""
        if self.question.type == "single":
            return {"choice": self.answer.value}
        if self.question.type == "multiple":
            return {"choices": [cid for cid, box in self.checkboxes.items() if box.value]}
        return {"value": self.text_field.value}

    def _fill(self, response: dict[str, Any]) -> None:
        if self.question.type == "single":
            self.answer.value = response["choice"]
        elif self.question.type == "multiple":
            for cid, box in self.checkboxes.items():
                box.value = cid in response["choices"]
        else:
            self.text_field.value = response["value"]

    def set_enabled(self, enabled: bool) -> None:
        inputs = self.checkboxes.values() if self.question.type == "multiple" else [
            self.answer if self.question.type == "single" else self.text_field]
        for control in [*inputs, self.check_button]:
            control.disabled = not enabled
        self.retry_button.disabled = enabled

    # -- events ---------------------------------------------------------------------------

    def _on_check(self, _button: widgets.Button | None = None) -> None:
        response = self.response()
        try:
            result = grade(self.question, response, self.expected)
        except InvalidResponse as problem:
            self.feedback.value = status_html(f"⚠ {problem}", "#b26b00")
            return
        try:
            self.store.record(self.notebook, self.question.id, response, result.correct, result.credit)
            saved = ""
        except ProgressError as error:
            saved = f" ⚠ {error.problem}"
        self._show(result, saved, describe(self.question, response))
        self.on_record()

    def submit(self, text: str) -> None:
        """Enter pressed in the text answer: check exactly the text that was typed."""
        if self.text_field is not None and not self.check_button.disabled:
            self.text_field.value = text
            self._on_check()

    def _on_hint(self, _button: widgets.Button | None = None) -> None:
        self.hint.value = f"<p><strong>Hint:</strong> {rich_text(self.question.hint)}</p>"

    def _on_retry(self, _button: widgets.Button | None = None) -> None:
        was_right = self.grade is not None and self.grade.correct
        self.feedback.value = status_html("Your correct answer stays recorded until you check a new one: "
                                      "the latest answer counts.", "#555") if was_right else ""
        self.explanation.value = ""
        self.set_enabled(True)

    def _restore(self, response: dict[str, Any]) -> None:
        """Show a previous session's answer as it was checked (skipped if the bank changed
        so much that the old response no longer fits)."""
        try:
            result = grade(self.question, response, self.expected)
        except InvalidResponse:
            return
        self._fill(response)
        self._show(result, "", describe(self.question, response), restored=True)

    def _show(self, result: Grade, note: str, answer: str, restored: bool = False) -> None:
        """The verdict, starting with the answer in words, so the choice stays readable
        however the disabled inputs are drawn."""
        self.grade = result
        prefix = f"Your {'previous ' if restored else ''}answer: {answer}. "
        colour = "#1a7f37" if result.correct else "#b42318"
        self.feedback.value = status_html(prefix + result.verdict + note, colour)
        items = "".join(f"<li>{rich_text(text)}</li>" for text in result.explanations)
        self.explanation.value = f"<div><strong>Why:</strong><ul>{items}</ul></div>" if items else ""
        self.set_enabled(False)


class QuizView(widgets.VBox):
    """A notebook's whole quiz with its score line."""

    def __init__(self, bank: Bank, store: ProgressStore, live_values: dict[str, Any]) -> None:
        self.bank = bank
        self.store = store
        needed = {name for q in bank.questions if q.type == "computed" for name in REGISTRY[q.compute].needs}
        unknown = sorted(set(live_values) - needed)
        if unknown:
            raise CourseError(f"bc.take_quiz(\"{bank.notebook}\") got {', '.join(unknown)}, which no question "
                              "in this quiz uses.",
                              f"Pass only: {', '.join(sorted(needed)) or 'nothing besides the notebook id'}.")
        seed = f"{store.learner_id()}:{bank.notebook}"
        latest = store.latest(bank.notebook)
        self.questions = [QuestionView(q, i, bank.notebook, store, seed, live_values, latest.get(q.id),
                                       self._on_record)
                          for i, q in enumerate(bank.questions, start=1)]
        self.score = widgets.HTML()
        title = widgets.HTML(f"<h3>Quiz: {html.escape(bank.title)}</h3>")
        super().__init__([title, *self.questions, self.score, QuizKeys(self._on_submit)])
        self.add_class("bertcourse-quiz")
        controls.mark(self)
        self.update_score()

    def update_score(self) -> None:
        correct, answered = tally(self.store, self.bank)
        total = len(self.bank.questions)
        self.score.value = status_html(f"Score: {correct} of {total} correct · {answered} of {total} answered "
                                   f"({COUNTING_RULE})", "#555")

    def _on_submit(self, index: int, text: str) -> None:
        if 0 <= index < len(self.questions):
            self.questions[index].submit(text)

    def _on_record(self) -> None:
        self.update_score()
        refresh_progress_views()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs)
        count = len(self.bank.questions)
        intro = f"Quiz: {self.bank.title} ({count} questions; run this cell to answer them)"
        lines = [f"{i}. {q.display_text}" for i, q in enumerate(self.bank.questions, start=1)]
        items = "".join(f"<li>{rich_text(q.display_text)}</li>" for q in self.bank.questions)
        bundle["text/plain"] = "\n".join([intro, *lines])
        bundle["text/html"] = f"<p><strong>{html.escape(intro)}</strong></p><ol>{items}</ol>"
        return bundle

"""The exercise result shown under a check cell, with hints and a guarded "Show a solution".

Like the quiz, the display bundle's text/plain (what nbval compares and a static renderer shows)
is the outcome's plain summary, identical on every run; the live widget adds the buttons.
Showing the solution needs a second, explicit click ("Yes, show it"), and that choice is stored
in the progress store as its own row, so the instructor's report can say who looked.
Hints and test messages show their `backticks` as code, as the quiz does.

Room: quiz.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from bertcourse.course import controls

from ..records import ExerciseRecord, write
from ..store import ProgressError, ProgressStore
from ..widget import refresh_progress_views, rich_text, status_html
from .catalog import Entry
from .engine import Outcome


def _results_html(outcome: Outcome) -> str:
    head, _, rest = outcome.summary().partition("\n")
    colour = "#1a7f37" if outcome.passed else ("#555" if outcome.not_started else "#b42318")
    items = []
    for result in outcome.results:
        mark = "✓ passed" if result.passed else "✗ failed"
        detail = "" if result.passed else (
            f"<br><small><b>input:</b> {html.escape(result.inputs)}<br>{rich_text(result.problem)}"
            f"<br><b>hint:</b> {rich_text(result.hint)}</small>")
        note = f"<br><small><b>note:</b> {html.escape(result.note)}</small>" if result.note else ""
        items.append(f"<li><b>{mark}</b>: {html.escape(result.name)}{detail}{note}</li>")
    tail = rest.splitlines()[-1] if outcome.results else ""
    body = f"<ul>{''.join(items)}</ul><p>{html.escape(tail)}</p>" if items else ""
    return status_html(head, colour) + body


class ExerciseView(widgets.VBox):
    """One check's outcome, a Hint button and the two-step "Show a solution"."""

    def __init__(self, outcome: Outcome, item: Entry, hints: tuple[str, ...], store: ProgressStore | None,
                 note: str = "") -> None:
        """`note`: a line under the result (the attempt could not be saved, or, for an unstarted
        stub after a restart, what the learner's latest recorded check was)."""
        self.outcome = outcome
        self.item = item
        self.hints = hints
        self.store = store
        self.shown_hints = 0
        self.results = widgets.HTML(_results_html(outcome) + (status_html(note, "#555") if note else ""))
        self.hint_button = widgets.Button(description="Hint", tooltip=f"Show a hint for {item.title}",
                                          disabled=not hints)
        self.solution_button = widgets.Button(description="Show a solution",
                                              tooltip=f"Show the course's solution of {item.title}")
        self.confirm_button = widgets.Button(description="Yes, show it", button_style="warning",
                                             tooltip="Show the solution (recorded in your progress)")
        self.cancel_button = widgets.Button(description="Cancel", tooltip="Keep working on it")
        self.confirm = widgets.HBox([widgets.HTML("Seeing the solution is recorded in your progress. Show it?"),
                                     self.confirm_button, self.cancel_button])
        self.confirm.layout.display = "none"
        self.hint_area = widgets.HTML()
        self.solution_area = widgets.HTML()
        self.hint_button.on_click(self._on_hint)
        self.solution_button.on_click(self._on_solution)
        self.confirm_button.on_click(self._on_confirm)
        self.cancel_button.on_click(self._on_cancel)
        super().__init__([self.results, widgets.HBox([self.hint_button, self.solution_button]), self.confirm,
                          self.hint_area, self.solution_area])
        self.add_class("bertcourse-exercise")
        controls.mark(self)

    def _on_hint(self, _button: Any = None) -> None:
        self.shown_hints = min(self.shown_hints + 1, len(self.hints))
        items = "".join(f"<li>{rich_text(h)}</li>" for h in self.hints[: self.shown_hints])
        more = "" if self.shown_hints < len(self.hints) else " (no more hints)"
        self.hint_area.value = f"<div><b>Hints{more}:</b><ol>{items}</ol></div>"
        self.hint_button.disabled = self.shown_hints >= len(self.hints)

    def _on_solution(self, _button: Any = None) -> None:
        self.confirm.layout.display = "flex"

    def _on_cancel(self, _button: Any = None) -> None:
        self.confirm.layout.display = "none"

    def _on_confirm(self, _button: Any = None) -> None:
        self.confirm.layout.display = "none"
        note = ""
        if self.store is not None:
            try:
                write(self.store, ExerciseRecord.solution_shown(self.item.notebook, self.item.id))
            except ProgressError as error:
                note = f" (⚠ not recorded: {error.problem})"
        self.solution_area.value = (f"<div><b>The course's solution{html.escape(note)}:</b>"
                                    f"<pre>{html.escape(self.item.solution_source())}</pre></div>")
        self.solution_button.disabled = True
        refresh_progress_views()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self.outcome.summary()
        bundle["text/html"] = _results_html(self.outcome)
        return bundle

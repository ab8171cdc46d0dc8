"""The course-progress view: every lesson's quiz score and exercise checks, in one widget.

It stands above both the quiz widget and the exercises, since it counts both: it reads the
quiz banks, the exercise catalog and the progress store, and registers with the quiz widget
(`watch_progress`) so that a checked answer or exercise anywhere in the kernel refreshes it.
Nothing below imports it, so the arrows between `widget`, `exercises/` and this module point
one way. Like the quiz, its display bundle's text/plain (what nbval compares) is the same for
every learner and every run.

Room: quiz.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
from IPython.display import display

from bertcourse.course import controls

from .bank import Bank, QuizBankError, available_banks, load_bank
from .exercises.catalog import Entry
from .exercises.catalog import of_notebook as exercise_entries
from .records import exercise_records
from .store import ProgressStore
from .widget import status_html, tally, watch_progress


def course_progress() -> None:
    """Show every notebook's quiz score, updated as answers are checked."""
    display(ProgressView(ProgressStore()))


def _exercise_tally(store: ProgressStore, notebook: str, exercises: list[Entry]) -> str:
    """"1 of 2 passed" from each exercise's latest check (a shown solution is not a check)."""
    passed: dict[str, bool] = {}
    revealed = set()
    for record in exercise_records(store.attempts(notebook)):
        if record.revealed:
            revealed.add(record.exercise)
        else:
            passed[record.exercise] = record.passed
    count = sum(passed.get(item.id, False) for item in exercises)
    seen = sum(item.id in revealed for item in exercises)
    return f"{count} of {len(exercises)} passed" + (f" ({seen} solution(s) shown)" if seen else "")


class ProgressView(widgets.VBox):
    """Every notebook's quiz score as a labelled progress bar.

    The rows are one grid, so every bar starts at the same place whatever the notebook's name;
    a bar never shrinks below a readable width, and the summary beside it wraps instead of being
    cut off."""

    def __init__(self, store: ProgressStore) -> None:
        self.store = store
        self.notebooks = available_banks()
        self.banks: dict[str, Bank] = {}
        self.bars: dict[str, widgets.IntProgress] = {}
        self.labels: dict[str, widgets.HTML] = {}
        cells: list[widgets.Widget] = []
        problems: list[widgets.Widget] = []
        for notebook in self.notebooks:
            try:
                self.banks[notebook] = load_bank(notebook)
            except QuizBankError as error:
                problems.append(widgets.HTML(status_html(f"⚠ {notebook}: {error.problem}", "#b26b00")))
                continue
            self.bars[notebook] = widgets.IntProgress(max=len(self.banks[notebook].questions),
                                                      layout=widgets.Layout(width="auto"))
            self.labels[notebook] = widgets.HTML()
            self.labels[notebook].add_class("bertcourse-progress-summary")
            cells += [widgets.Label(notebook), self.bars[notebook], self.labels[notebook]]
        grid = widgets.GridBox(cells, layout=widgets.Layout(
            grid_template_columns="max-content minmax(6em, 14em) minmax(8em, 1fr)", grid_gap="2px 12px",
            align_items="center"))
        refresh = widgets.Button(description="Refresh", tooltip="Re-read your progress")
        refresh.on_click(lambda _button: self.refresh())
        super().__init__([widgets.HTML("<h3>Course progress</h3>"), *problems, grid, refresh])
        self.add_class("bertcourse-progress")
        controls.mark(self)
        self.refresh()
        watch_progress(self)

    def refresh(self) -> None:
        """Re-read scores from the database (other kernels may have added answers)."""
        for notebook, bank in self.banks.items():
            correct, answered = tally(self.store, bank)
            summary = f"{bank.title}: {correct} of {len(bank.questions)} correct, {answered} answered"
            if exercises := exercise_entries(notebook):
                summary += f" · exercises: {_exercise_tally(self.store, notebook, exercises)}"
            self.bars[notebook].value = correct
            self.bars[notebook].tooltip = summary
            self.labels[notebook].value = html.escape(summary)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs)
        # Static on purpose: listing the quizzes here would change committed notebook outputs
        # (which nbval checks) every time a lesson adds its bank.
        intro = "Course progress: one line per lesson quiz (run this cell to see your scores)"
        bundle["text/plain"] = intro
        bundle["text/html"] = f"<p>{html.escape(intro)}</p>"
        return bundle

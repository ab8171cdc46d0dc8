"""Quizzes and exercises use only what JupyterLab, VS Code and Colab all draw: ipywidgets' core
controls and anywidget, which switches Colab's custom widget manager on for itself (the quiz relies
on that: its QuizKeys sits inside a box, where no display call of its own would do it)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import IPython.display
import ipywidgets as widgets
import pytest

from bertcourse.quiz import exercises
from bertcourse.quiz import widget as quiz_widget
from bertcourse.quiz.exercises.catalog import entry

DRAWN_EVERYWHERE = {"@jupyter-widgets/controls", "@jupyter-widgets/base", "anywidget"}


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Any]:
    """What the course displays, caught instead of printed, with a fresh progress database."""
    monkeypatch.setenv("BERTCOURSE_PROGRESS", str(tmp_path / "progress.sqlite"))
    caught: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects, **kw: caught.extend(objects))
    monkeypatch.setattr(quiz_widget, "display", lambda *objects, **kw: caught.extend(objects))
    return caught


def _modules(root: widgets.Widget) -> set[str]:
    found = {root._model_module}
    for child in getattr(root, "children", ()):
        found |= _modules(child)
    return found


def test_quiz_and_exercise_widgets_are_made_of_what_every_renderer_draws(shown: list[Any]) -> None:
    quiz_widget.take_quiz("00_start_here")
    item = entry("01_wordpiece_offsets")
    exercises.check(item.id, item.reference())
    views = [obj for obj in shown if isinstance(obj, widgets.Widget)]
    assert len(views) == 2
    for view in views:
        assert _modules(view) <= DRAWN_EVERYWHERE, _modules(view)


def test_in_colab_the_quiz_has_the_custom_widget_manager_switched_on(shown: list[Any],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    colab_output = types.ModuleType("google.colab.output")
    colab_output.enable_custom_widget_manager = lambda: calls.append("enabled")  # type: ignore[attr-defined]
    quiz_widget.take_quiz("00_start_here")
    assert calls == []  # not in Colab: nothing to switch on
    monkeypatch.setitem(sys.modules, "google.colab.output", colab_output)
    quiz_widget.take_quiz("00_start_here")
    assert calls == ["enabled"] and len(shown) == 2

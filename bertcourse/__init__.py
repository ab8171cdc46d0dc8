"""bertcourse: the helper package the BERT course notebooks import.

Notebooks keep the ideas in view (masking rule, attention formula, label alignment, distillation
loss); loading, plotting, training loops and quizzes live here, in three rooms plus the lessons:

- lesson modules, at the top (`tokenization`, `attention`, `pretraining`, `classification`, ...):
  what a lesson teaches, named by concept, and what `#@save bertcourse.X` cells are copied from.
  They may import `bertcourse.course` and each other, never `tools` or `quiz`.
- `bertcourse.course`: the course room every lesson stands on (paths, registry, profiles, resources,
  data formats, the MiniLM package, lesson start-up, metric reporting). It imports nothing else
  of the package.
- `bertcourse.tools`: the instructor and author commands behind the `bertcourse` CLI (doctor,
  prefetch, pretrain, run, notebooks). They may import anything.
- `bertcourse.quiz`: the quiz engine and banks. It imports `bertcourse.course` and, to re-check
  computed answers, lesson modules; never `tools`.

This module is the one facade for course names: notebooks use `bc.<name>` and the lesson
modules, nothing else. Names load lazily (PEP 562), so `bertcourse progress export` and other
commands that need no model do not pay for importing torch and transformers.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CourseError": "bertcourse.course.errors",
    "active_profile": "bertcourse.course.profiles",
    "use_profile": "bertcourse.course.profiles",
    "resolve_model_key": "bertcourse.course.profiles",
    "set_seed": "bertcourse.course.startup",
    "start_lesson": "bertcourse.course.startup",
    "report_metric": "bertcourse.course.metrics_report",
    "load_dataset": "bertcourse.course.resources",
    "load_folder": "bertcourse.course.resources",
    "load_model": "bertcourse.course.resources",
    "load_tokenizer": "bertcourse.course.resources",
    "doctor": "bertcourse.tools.doctor",
    "take_quiz": "bertcourse.quiz.widget",
    "check": "bertcourse.quiz.exercises",
    "course_progress": "bertcourse.quiz.overview",
    "build_report": "bertcourse.quiz.report",
}
# Course modules a notebook reaches through the facade as a namespace (`bc.paths.artifacts_dir`).
_MODULES = {
    "paths": "bertcourse.course.paths",
    "registry": "bertcourse.course.registry",
    "handoffs": "bertcourse.course.handoffs",  # `bc.handoffs.imported("03_pretrained")`: an instructor's model?
}

__all__ = sorted(_EXPORTS) + sorted(_MODULES)


def __getattr__(name: str) -> Any:
    """Load an exported name, a course namespace, or a lesson module (`bc.attention`) on first use."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        try:
            value = importlib.import_module(_MODULES.get(name, f"bertcourse.{name}"))
        except ModuleNotFoundError:
            raise AttributeError(f"module 'bertcourse' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | set(_MODULES))

"""bertcourse: the helper package the BERT course notebooks import.

Notebooks keep the ideas in view (masking rule, attention formula, label alignment, distillation
loss); loading, plotting, training loops and quizzes live here.

Names are imported lazily (PEP 562), so `bertcourse progress export` and other commands that need
no model do not pay for importing torch and transformers.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CourseError": "bertcourse.errors",
    "active_profile": "bertcourse.profiles",
    "use_profile": "bertcourse.profiles",
    "doctor": "bertcourse.diagnostics",
    "set_seed": "bertcourse.lesson",
    "start_lesson": "bertcourse.lesson",
    "report_metric": "bertcourse.metrics_report",
    "load_dataset": "bertcourse.resources",
    "load_model": "bertcourse.resources",
    "load_tokenizer": "bertcourse.resources",
    "quiz": "bertcourse.quiz",
    "course_progress": "bertcourse.quiz",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Load an exported name, or a submodule such as `bc.paths`, on first use."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        try:
            value = importlib.import_module(f"bertcourse.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module 'bertcourse' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

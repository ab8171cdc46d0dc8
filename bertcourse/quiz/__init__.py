"""Quizzes inside the notebooks, the learner's saved progress, and the instructor report.

Notebooks call `quiz("01_tokenization", tokenizer=tokenizer)` to show a notebook's quiz and
`course_progress()` to show every quiz's score. Banks are data files in `banks/` (see
`bank.py` for the format and `author.py` for how to add questions); answers are kept in a
local SQLite database (`store.py`); `bertcourse progress export|report` (`cli.py`) hands
progress in and summarises a class (`report.py`).
"""

from .widget import course_progress, quiz

__all__ = ["course_progress", "quiz"]

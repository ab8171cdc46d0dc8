"""Quizzes inside the notebooks, the learner's saved progress, and the instructor report.

Notebooks call `bc.take_quiz("01_tokenization", tokenizer=tokenizer)` to show a notebook's quiz,
`bc.check("03_whole_word_masking", mask_whole_words)` to check a coding exercise (`exercises/`)
and `bc.course_progress()` to show every quiz's score. Banks are data files in `banks/` (see
`bank.py` for the format and `bertcourse dev add-questions` to add questions); answers and exercise
records (`records.py`) are kept in a local SQLite database (`store.py`);
`bertcourse progress export|report` (`bertcourse/tools/progress.py`) hands progress in and
summarises a class (`export.py`, `report.py`).
"""

from .exercises import check
from .overview import course_progress
from .widget import take_quiz

__all__ = ["check", "course_progress", "take_quiz"]

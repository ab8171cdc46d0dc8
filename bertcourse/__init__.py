"""bertcourse: the helper package the BERT course notebooks import.

Notebooks keep the ideas in view (masking rule, attention formula, label alignment, distillation
loss); loading, plotting, training loops and quizzes live here.
"""

from bertcourse.diagnostics import doctor
from bertcourse.errors import CourseError
from bertcourse.lesson import set_seed, start_lesson
from bertcourse.metrics_report import report_metric
from bertcourse.profiles import active_profile, use_profile
from bertcourse.resources import load_dataset, load_model, load_tokenizer

__all__ = ["CourseError", "active_profile", "doctor", "load_dataset", "load_model", "load_tokenizer",
           "report_metric", "set_seed", "start_lesson", "use_profile"]

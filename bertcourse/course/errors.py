"""Short, actionable errors for learners.

A learner who hits a missing dataset should read one sentence naming the resource and the
fix, not forty lines of huggingface_hub internals. `CourseError` carries that sentence and
tells IPython to print only it (IPython calls `_render_traceback_` when it exists).

Room: course (`bertcourse.course`); imports only other course modules.
"""

from __future__ import annotations


class CourseError(Exception):
    """An error a learner or instructor can fix; the message names what and how."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(problem if fix is None else f"{problem}\nFix: {fix}")

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class ResourceUnavailable(CourseError):
    """A model or dataset could not be found locally or fetched from the hub."""


class DataFormatError(CourseError):
    """A local data file exists but does not follow the documented format."""


class IntegrityError(CourseError):
    """A file's sha256 does not match the one the course expects."""

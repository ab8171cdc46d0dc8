"""The course's exercises as sealed files: which exist, and their hidden reference solutions.

Each exercise has `sealed/<id>.json` with its notebook, title and function name in plain text,
and its reference solution and known-wrong variants *sealed* with `bertcourse.quiz.keys.seal`
(XOR with a salted SHA-256 keystream, base64). As with the quiz explanations, this is
obfuscation and not security: the salt sits next to the text, so anyone willing to run
`bertcourse dev unseal-exercise ID` (or five lines of Python) reads the solution. The promise
is only that the solution is not in plain sight in the notebook, the package or a `grep`.

Authors never edit the JSON: they write a plain file, keep it out of the repository, and run
`bertcourse dev seal-exercise FILE` (see `parse_plain` for the format). This module imports
no torch, so the command line, the progress export and the instructor report can list exercises.

Room: quiz.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bertcourse.course.errors import CourseError

from ..keys import seal, unseal
from ..records import QUESTION_PREFIX

SEALED_DIR = Path(__file__).parent / "sealed"
_ID = re.compile(r"^\d\d_[a-z0-9_]+$")
_HEADER = re.compile(r"^# (exercise|notebook|title|function): (.+)$")
_WRONG = re.compile(r"^# wrong: ([a-z0-9_]+) \| fails: (.+?) \| says: (.+)$")


class ExerciseError(CourseError):
    """An exercise name or file that does not exist or does not fit the format."""


@dataclass(frozen=True)
class Wrong:
    """A known-wrong variant: it must fail test `fails`, whose message contains `says`."""

    name: str
    fails: str
    says: str
    source: str


@dataclass(frozen=True)
class Entry:
    """One exercise as the catalog knows it (secrets still sealed)."""

    id: str
    notebook: str
    title: str
    function: str
    salt: str
    sealed_solution: str
    sealed_wrong: tuple[dict[str, str], ...]

    @property
    def question(self) -> str:
        """The question id its attempts are stored under."""
        return QUESTION_PREFIX + self.id

    def solution_source(self) -> str:
        return unseal(self.salt, self.id, "solution", self.sealed_solution)

    def wrong_variants(self) -> list[Wrong]:
        return [Wrong(item["name"], item["fails"], item["says"],
                      unseal(self.salt, self.id, f"wrong:{item['name']}", item["source"]))
                for item in self.sealed_wrong]

    def reference(self) -> Callable[..., Any]:
        """The reference solution as a function (compiled from the unsealed text)."""
        return compile_function(self.solution_source(), self.function, f"<reference {self.id}>")


def compile_function(source: str, name: str, label: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {"__name__": f"bertcourse_exercise_{name}"}
    exec(compile(source, label, "exec"), namespace)  # noqa: S102 - the course's own sealed code
    return namespace[name]


@cache
def entries() -> dict[str, Entry]:
    """Every sealed exercise by id, in id order (so in lesson order)."""
    found = {}
    for path in sorted(SEALED_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[data["id"]] = Entry(data["id"], data["notebook"], data["title"], data["function"], data["salt"],
                                  data["solution"], tuple(data["wrong"]))
    return found


def entry(exercise_id: str) -> Entry:
    try:
        return entries()[exercise_id]
    except KeyError:
        known = ", ".join(entries()) or "none"
        raise ExerciseError(f"There is no exercise called {exercise_id!r}.",
                            f"use one of: {known}") from None


def of_notebook(notebook: str) -> list[Entry]:
    return [item for item in entries().values() if item.notebook == notebook]


def parse_plain(text: str) -> tuple[dict[str, str], str, list[Wrong]]:
    """Read an author's plain file: header lines, the reference, then `# wrong:` chunks.

        # exercise: 03_whole_word_masking
        # notebook: 03_pretraining
        # title: Whole-word masking
        # function: mask_whole_words
        <the reference solution: self-contained source defining `function`>
        # wrong: per_token | fails: <test name> | says: <text in that test's message>
        <a known-wrong variant, defining the same function>
    """
    lines = text.splitlines()
    header: dict[str, str] = {}
    while lines and (match := _HEADER.match(lines[0])):
        header[match[1]] = match[2].strip()
        lines.pop(0)
    missing = {"exercise", "notebook", "title", "function"} - header.keys()
    if missing:
        raise ExerciseError(f"The plain file lacks the header line(s) {', '.join(sorted(missing))}.",
                            "start it with `# exercise: ID`, `# notebook: ...`, `# title: ...`, `# function: ...`")
    if not _ID.match(header["exercise"]) or not header["exercise"].startswith(header["notebook"][:3]):
        raise ExerciseError(f"Exercise id {header['exercise']!r} must look like '03_name' and start with "
                            "its notebook's number.")
    chunks: list[tuple[re.Match[str] | None, list[str]]] = [(None, [])]
    for line in lines:
        if line.startswith("# wrong:"):
            match = _WRONG.match(line)
            if match is None:
                raise ExerciseError(f"Cannot read {line!r}.", "write `# wrong: NAME | fails: TEST | says: TEXT`")
            chunks.append((match, []))
        else:
            chunks[-1][1].append(line)
    solution = "\n".join(chunks[0][1]).strip() + "\n"
    wrong = [Wrong(match[1], match[2].strip(), match[3].strip(), "\n".join(body).strip() + "\n")
             for match, body in chunks[1:] if match is not None]
    for label, source in [("the reference", solution), *((f"wrong variant {w.name}", w.source) for w in wrong)]:
        try:
            compile_function(source, header["function"], label)
        except Exception as error:
            raise ExerciseError(f"{label} does not define {header['function']} ({type(error).__name__}: "
                                f"{error}).") from None
    return header, solution, wrong


def sealed_document(header: dict[str, str], solution: str, wrong: list[Wrong], salt: str | None = None
                    ) -> dict[str, Any]:
    """The JSON document for `sealed/<id>.json`."""
    salt = salt or secrets.token_hex(16)
    exercise = header["exercise"]
    return {"id": exercise, "notebook": header["notebook"], "title": header["title"],
            "function": header["function"], "salt": salt,
            "solution": seal(salt, exercise, "solution", solution),
            "wrong": [{"name": w.name, "fails": w.fails, "says": w.says,
                       "source": seal(salt, exercise, f"wrong:{w.name}", w.source)} for w in wrong]}


def plain_text(item: Entry) -> str:
    """The plain file an entry was sealed from (what `unseal` prints for an author)."""
    parts = [f"# exercise: {item.id}", f"# notebook: {item.notebook}", f"# title: {item.title}",
             f"# function: {item.function}", item.solution_source().rstrip("\n")]
    for wrong in item.wrong_variants():
        parts += ["", f"# wrong: {wrong.name} | fails: {wrong.fails} | says: {wrong.says}",
                  wrong.source.rstrip("\n")]
    return "\n".join(parts) + "\n"

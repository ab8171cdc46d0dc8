"""The hand-in file: one JSON document with a learner's attempts (quiz answers and exercise checks).

`bertcourse progress export` writes it; the instructor's report reads a folder of them and
validates each against the schema before using anything inside, because submissions
are untrusted (hand-edited, truncated, from another tool): the file's frame against
`HAND_IN_SCHEMA`, then each answer against `ATTEMPT_SCHEMA`, so a bad answer is skipped
rather than the learner. The schema is strict and has
size limits so the report's memory and output stay bounded whatever arrives.
"""

from __future__ import annotations

import json
import re
import unicodedata
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bertcourse.course.errors import CourseError

from .records import response_schema
from .schema import SchemaCheck
from .store import ProgressStore, ProgressWarning

FORMAT = "bertcourse-progress"
VERSION = 1
MAX_ATTEMPTS = 20_000
_SHORT = {"type": "string", "maxLength": 200}
_TIMESTAMP = {"type": "string", "maxLength": 40,
              "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$"}

ATTEMPT = {
    "type": "object",
    "required": ["notebook", "question", "response", "correct", "credit", "answered_at"],
    "additionalProperties": False,
    "properties": {
        "notebook": _SHORT,
        "question": _SHORT,
        "response": {
            "type": "object",
            "maxProperties": 1,
            "additionalProperties": False,
            "properties": {"choice": _SHORT, "value": _SHORT,
                           "choices": {"type": "array", "maxItems": 50, "items": _SHORT},
                           **response_schema(_SHORT)},  # an exercise's check or shown solution
        },
        "correct": {"type": "boolean"},
        "credit": {"type": "number", "minimum": 0, "maximum": 1},
        "answered_at": _TIMESTAMP,
    },
}


def _document_schema(attempt: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["format", "version", "learner", "exported_at", "attempts"],
        "additionalProperties": False,
        "properties": {
            "format": {"const": FORMAT},
            "version": {"const": VERSION},
            "exported_at": _TIMESTAMP,
            "learner": {
                "type": "object",
                "required": ["id", "name"],
                "additionalProperties": False,
                "properties": {"id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                               "name": {"type": "string", "minLength": 1, "maxLength": 100}},
            },
            "attempts": {"type": "array", "maxItems": MAX_ATTEMPTS, "items": attempt},
        },
    }


EXPORT_SCHEMA = SchemaCheck(_document_schema(ATTEMPT))  # what `export` writes: every row checked
# What the report accepts as a file: rows are checked one by one (ATTEMPT_SCHEMA), so one damaged
# answer costs that answer, not the learner's whole hand-in.
HAND_IN_SCHEMA = SchemaCheck(_document_schema({}))
ATTEMPT_SCHEMA = SchemaCheck(ATTEMPT)


def export_document(store: ProgressStore, name: str) -> dict[str, Any]:
    """The export of everything in `store`, attributed to `name`. A row that the database holds
    but the schema refuses (damaged inside the type checks, e.g. credit 7.5) is left out with a
    `ProgressWarning` naming it, so the report never has to refuse the whole file for it."""
    rows, refused = [], []
    for a in store.attempts():
        row = {"notebook": a.notebook, "question": a.question, "response": a.response,
               "correct": a.correct, "credit": a.credit, "answered_at": a.answered_at}
        problem = ATTEMPT_SCHEMA.problem(row)
        if problem is None:
            rows.append(row)
        else:
            refused.append(f"{a.notebook[:40]} {a.question[:40]} at {a.answered_at[:40]} ({problem[:80]})")
    if refused:
        warnings.warn(f"{len(refused)} damaged answer(s) were left out of the export: {'; '.join(refused[:5])}"
                      f"{'; ...' if len(refused) > 5 else ''}.", ProgressWarning, stacklevel=2)
    return {
        "format": FORMAT,
        "version": VERSION,
        "learner": {"id": store.learner_id(), "name": name},
        "exported_at": datetime.now(UTC).isoformat(),  # microseconds: orders re-exports
        "attempts": rows,
    }


def default_export_name(name: str) -> str:
    """`bertcourse-progress-zoe-unal.json` for "Zoë Ünal": ASCII, safe on every file system."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "learner"
    return f"bertcourse-progress-{slug[:60]}.json"


def write_export(store: ProgressStore, name: str, out: Path | None = None) -> Path:
    """Write the export to `out` (default: a name derived from `name` in the current
    folder; inside `out` when it is a folder) and return where it went. A path that cannot
    be written is a `CourseError` naming it, not an OSError traceback."""
    path = out if out is not None else Path(default_export_name(name))
    if path.is_dir():
        path = path / default_export_name(name)
    text = json.dumps(export_document(store, name), indent=1, ensure_ascii=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise CourseError(f"Cannot write the export to {path} ({error.strerror or error}).",
                          "choose another --out file in a folder you can write to") from None
    return path

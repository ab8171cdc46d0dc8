"""The learner's progress: every checked answer, in a local SQLite database.

Why SQLite in WAL mode: each answer is committed the moment "Check" is clicked, so a
killed kernel loses nothing; WAL lets several kernels (two notebooks open at once) read
and write the same file without "database is locked" errors for readers, and writers wait
up to `BUSY_TIMEOUT_S` for each other. Attempts are append-only; the latest attempt per
question is the learner's current answer, earlier ones let the instructor see first-try
success and the most common wrong answers.

Where: `BERTCOURSE_PROGRESS` (a file path) if set, else `course_home()/progress.sqlite`.

A database that cannot be used (corrupt, not SQLite, another program's, unreadable) is
renamed to `<name>.unreadable-<timestamp>` with a `ProgressWarning`, and a fresh one is
started; if even that fails the session keeps progress in memory and says so. Nothing
here raises into a notebook except `ProgressError` from `record`, which the widget shows.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bertcourse.course.errors import CourseError
from bertcourse.course.paths import course_home

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 15.0
MEMORY = Path(":memory:")
_UNUSABLE = ("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_IOERR")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        notebook TEXT NOT NULL,
        question TEXT NOT NULL,
        response TEXT NOT NULL,
        correct INTEGER NOT NULL,
        credit REAL NOT NULL,
        answered_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS attempts_by_question ON attempts (notebook, question, id)",
)

T = TypeVar("T")


class ProgressWarning(UserWarning):
    """The progress database had to be replaced or could not be written."""


class ProgressError(CourseError):
    """An answer could not be saved even after recovering the database."""


class _Unusable(Exception):
    """Internal: the file is not a usable progress database (reason in args[0])."""


@dataclass(frozen=True)
class Attempt:
    """One checked answer as stored."""

    notebook: str
    question: str
    response: dict[str, Any]
    correct: bool
    credit: float
    answered_at: str


def default_path() -> Path:
    """`BERTCOURSE_PROGRESS`, else the progress file in the learner's course home."""
    override = os.environ.get("BERTCOURSE_PROGRESS")
    return Path(override).expanduser() if override else course_home() / "progress.sqlite"


class ProgressStore:
    """A connection to the progress database that repairs itself instead of failing."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._connection = self._open_or_replace()

    # -- public API ---------------------------------------------------------------------

    def learner_id(self) -> str:
        """A random id made on first use; it seeds the per-learner option shuffle and
        tells the instructor's report which exports come from the same learner."""
        def query(con: sqlite3.Connection) -> str:
            con.execute("INSERT OR IGNORE INTO meta VALUES ('learner_id', ?)", (uuid.uuid4().hex,))
            return con.execute("SELECT value FROM meta WHERE key = 'learner_id'").fetchone()[0]
        return self._run(query)

    def learner_name(self) -> str | None:
        row = self._run(lambda con: con.execute(
            "SELECT value FROM meta WHERE key = 'learner_name'").fetchone())
        return row[0] if row else None

    def set_learner_name(self, name: str) -> None:
        self._run(lambda con: con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('learner_name', ?)", (name,)))

    def record(self, notebook: str, question: str, response: dict[str, Any],
               correct: bool, credit: float) -> None:
        """Commit one checked answer now; raises ProgressError only if saving is impossible."""
        row = (notebook, question, json.dumps(response, sort_keys=True), int(correct), credit,
               datetime.now(UTC).isoformat(timespec="seconds"))
        try:
            self._run(lambda con: con.execute(
                "INSERT INTO attempts (notebook, question, response, correct, credit, answered_at)"
                " VALUES (?, ?, ?, ?, ?, ?)", row))
        except sqlite3.Error as error:
            raise ProgressError(f"Your answer could not be saved ({error}).",
                                "Close other notebooks using the course, then check again.") from None

    def attempts(self, notebook: str | None = None) -> list[Attempt]:
        """All attempts in answering order, optionally for one notebook."""
        sql = "SELECT notebook, question, response, correct, credit, answered_at FROM attempts"
        params: tuple[str, ...] = ()
        if notebook is not None:
            sql, params = sql + " WHERE notebook = ?", (notebook,)
        rows = self._run(lambda con: con.execute(sql + " ORDER BY id", params).fetchall())
        return [Attempt(nb, q, json.loads(resp), bool(ok), credit, when)
                for nb, q, resp, ok, credit, when in rows]

    def latest(self, notebook: str) -> dict[str, Attempt]:
        """Each question's most recent attempt in `notebook`."""
        return {a.question: a for a in self.attempts(notebook)}

    def close(self) -> None:
        self._connection.close()

    # -- opening and recovery -----------------------------------------------------------

    def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run `operation` in one committed transaction; on a broken file, replace it and
        retry once (another kernel may have corrupted or removed it under us)."""
        try:
            with self._connection as con:  # commits on success, rolls back on error
                return operation(con)
        except sqlite3.DatabaseError as error:
            if not _is_unusable(error):
                raise
            self._connection.close()
            self._connection = self._replace(str(error))
            with self._connection as con:
                return operation(con)

    def _open_or_replace(self) -> sqlite3.Connection:
        try:
            return _open(self.path)
        except _Unusable as problem:
            return self._replace(problem.args[0])

    def _replace(self, reason: str) -> sqlite3.Connection:
        """Move the unusable file aside and start a new one, or fall back to memory."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        aside = self.path.with_name(f"{self.path.name}.unreadable-{stamp}")
        try:
            if self.path.exists():
                self.path.rename(aside)
            for suffix in ("-wal", "-shm", "-journal"):
                sidecar = self.path.with_name(self.path.name + suffix)
                if sidecar.exists():
                    sidecar.rename(aside.with_name(aside.name + suffix))
            connection = _open(self.path)
        except (OSError, _Unusable) as error:
            warnings.warn(f"Course progress database {self.path} is unusable ({reason}) and no "
                          f"new one could be created there ({error}); answers in this session "
                          "are kept in memory only. Set BERTCOURSE_PROGRESS to a writable file.",
                          ProgressWarning, stacklevel=3)
            return _open(MEMORY)
        warnings.warn(f"Course progress database {self.path} was unusable ({reason}); it was "
                      f"moved to {aside.name} and a new one was started.", ProgressWarning,
                      stacklevel=3)
        return connection


def _is_unusable(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorname", "").startswith(_UNUSABLE)


def _open(path: Path) -> sqlite3.Connection:
    """Open, check and (if new) initialise a progress database; raise _Unusable if the file
    (or its folder) is not one we can use."""
    connection = None
    try:
        if path != MEMORY:
            path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        _initialise(connection)
        return connection
    except (OSError, sqlite3.DatabaseError, _Unusable) as error:
        if connection is not None:
            connection.close()
        if isinstance(error, sqlite3.DatabaseError) and not _is_unusable(error):
            raise
        raise _Unusable(str(error)) from None


def _initialise(connection: sqlite3.Connection) -> None:
    """Check the file, switch it to WAL and create the tables. The check and the creation
    share one write transaction so a second kernel starting at the same moment never sees
    half-created tables and mistakes them for another program's database."""
    check = connection.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        raise _Unusable(f"integrity check failed: {check}")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if version not in (0, SCHEMA_VERSION) or (version == 0 and tables):
            raise _Unusable("it is not a bertcourse progress database")
        for statement in _SCHEMA:
            connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        connection.rollback()
        raise
    connection.commit()

"""The learner's progress: every checked answer, in a local SQLite database.

Why SQLite in WAL mode: each answer is committed the moment "Check" is clicked, so a
killed kernel loses nothing; WAL lets several kernels (two notebooks open at once) read
and write the same file without "database is locked" errors for readers, and writers wait
up to `BUSY_TIMEOUT_S` for each other. Attempts are append-only; the latest attempt per
question is the learner's current answer, earlier ones let the instructor see first-try
success and the most common wrong answers.

Where: `BERTCOURSE_PROGRESS` (a file path) if set, else `course_home()/progress.sqlite`.

Only a file that really is unreadable (corrupt pages, not SQLite, another program's
tables) is renamed to `<name>.unreadable-<timestamp>` with a `ProgressWarning`, and a fresh
one is started, and only when no other notebook has it open (a shared lock on `<name>-lock`):
that notebook would go on confirming answers into the renamed file. A folder is never moved,
nor a file that is neither SQLite nor the course's own `progress.sqlite` (`BERTCOURSE_PROGRESS`
may name ~/Documents or a learner's notes): that is a `ProgressError` naming the setting. A file that is fine but cannot be used right
now (full disk, I/O error, read-only, locked by another program for `BUSY_TIMEOUT_S`,
written by a newer course version) is kept as it is: moving it would hide the learner's
history behind an empty database, so a `ProgressError` says what to do instead. Where no
database exists yet and none can be created, the session keeps progress in memory and says
so. A row damaged inside an intact file is skipped with a `ProgressWarning`. Nothing here
raises into a notebook except `ProgressError` (the widget shows the one from `record`).

`ProgressStore(path, read_only=True)` is how exports read: it never moves, renames or
creates anything, and reports every problem as `ProgressError`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sqlite3
import tempfile
import uuid
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

try:
    import fcntl
except ImportError:  # Windows: no flock, so no guard against moving a file another kernel has open
    fcntl = None  # type: ignore[assignment]

from bertcourse.course.errors import CourseError
from bertcourse.course.paths import course_home

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 15.0
MEMORY = Path(":memory:")
_UNREADABLE = ("SQLITE_CORRUPT", "SQLITE_NOTADB")  # the only errors that justify moving a file
_ADVICE = {  # sqlite error name prefix -> (what happened, what to do); the file is kept
    "SQLITE_FULL": ("the disk is full", "free some disk space, then run the cell again"),
    "SQLITE_IOERR": ("the disk reported an input/output error (often: the disk is full)",
                     "free some disk space or check the disk, then run the cell again"),
    "SQLITE_READONLY": ("the file or its folder is read-only",
                        "make it writable (chmod u+w) or set BERTCOURSE_PROGRESS to a writable file"),
    "SQLITE_BUSY": (f"another program has kept it locked for over {BUSY_TIMEOUT_S:.0f} s",
                    "close other programs using it (a database browser, a stuck kernel), then try again"),
    "SQLITE_LOCKED": ("another connection holds it locked", "close other programs using it, then try again"),
    "SQLITE_CANTOPEN": ("it cannot be opened (permissions?)",
                        "make it readable and writable for you, or set BERTCOURSE_PROGRESS to another file"),
    "SQLITE_PERM": ("access to it was denied", "check its permissions, or set BERTCOURSE_PROGRESS"),
}
_FALLBACK_ADVICE = ("it could not be used", "check the disk and the file's permissions, then try again")
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
    """The progress database is intact but cannot be used now (or an answer could not be
    saved); the message says why and what to do."""


class _Unusable(Exception):
    """Internal: the file is not a readable progress database (reason in args[0]); only
    this ever makes the store move a file aside."""


def _problem(path: Path, error: BaseException) -> ProgressError:
    """The `ProgressError` for a database that is kept as it is."""
    name = "SQLITE_READONLY" if isinstance(error, PermissionError) else getattr(error, "sqlite_errorname", "")
    what, fix = next((advice for prefix, advice in _ADVICE.items() if name.startswith(prefix)),
                     _FALLBACK_ADVICE)
    if isinstance(error, OSError) and error.strerror:
        what = f"{what} ({error.strerror})"
    return ProgressError(f"Your course progress in {path} cannot be used right now: {what}. "
                         "Your earlier answers are kept in that file.", fix)


class _Newer(Exception):
    """Internal: the database was written by a newer version of the course."""


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
    """`BERTCOURSE_PROGRESS`, else the progress file in the learner's course home (not created
    here: opening the database for writing creates its folder, and a reader creates nothing).
    Raises `CourseError` naming the setting when neither can be worked out (no home directory)."""
    override = os.environ.get("BERTCOURSE_PROGRESS")
    if not override:
        return course_home(create=False) / "progress.sqlite"
    try:
        return Path(override).expanduser()
    except RuntimeError as error:  # "~/..." with no home directory
        raise CourseError(f"BERTCOURSE_PROGRESS={override} cannot be used ({error}).",
                          "set BERTCOURSE_PROGRESS to an absolute path") from None


def _setting() -> str:
    """The variable that moves the progress file, for messages: the one in use, else the home."""
    return "BERTCOURSE_PROGRESS" if os.environ.get("BERTCOURSE_PROGRESS") else "BERTCOURSE_HOME"


class _SharedUse:
    """A shared `flock` on `<database>-lock` (beside -wal and -shm), held while a store uses the
    file. Moving the file aside needs it exclusively: a store must never move a file that another notebook (any
    process, or another store in this kernel) still has open, because that notebook would go on
    confirming answers into a renamed file whose WAL SQLite later deletes by its old name."""

    def __init__(self, path: Path) -> None:
        self._fd: int | None = None
        if fcntl is None or path == MEMORY:
            return
        try:
            self._fd = os.open(path.with_name(path.name + "-lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # no folder or a read-only one: nothing can be moved there either
            return
        self._closer = weakref.finalize(self, os.close, self._fd)  # a store that is never closed
        fcntl.flock(self._fd, fcntl.LOCK_SH)  # waits only while another store moves the file

    def alone(self) -> bool:
        """Take the lock exclusively if no one else holds it (then `shared()` gives it back)."""
        if self._fd is None:
            return True
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            fcntl.flock(self._fd, fcntl.LOCK_SH)  # a failed conversion has dropped ours
            return False

    def shared(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._fd is not None:
            self._closer()
            self._fd = None


class ProgressStore:
    """A connection to the progress database that repairs itself instead of failing."""

    def __init__(self, path: Path | None = None, read_only: bool = False) -> None:
        self.read_only = read_only
        try:
            self.path = Path(path) if path is not None else default_path()
        except CourseError as error:  # no course home at all: a lesson still runs, unsaved
            if read_only:
                raise ProgressError(error.problem, error.fix) from None
            self.path = MEMORY
            self._use = _SharedUse(MEMORY)
            self._connection = _in_memory(MEMORY, "there is no place to keep it", error)
            return
        self._ours = False  # whether this store has had the file open as a progress database
        if not read_only and (refusal := self._refusal()):
            raise refusal  # before a -lock file is made beside it
        self._use = _SharedUse(MEMORY if read_only else self.path)
        self._connection = _open_for_reading(self.path) if read_only else self._open_or_replace()

    # -- public API ---------------------------------------------------------------------

    def learner_id(self) -> str:
        """A random id made when the database is opened for writing; it seeds the per-learner option shuffle and
        tells the instructor's report which exports come from the same learner."""
        row = self._run(lambda con: con.execute("SELECT value FROM meta WHERE key = 'learner_id'").fetchone())
        learner = row[0] if row else None  # made when the file is created or first opened for writing
        if learner is None:
            raise ProgressError(f"{self.path} has no learner id yet.", "open any quiz once, then try again")
        return learner

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
        self._run(lambda con: con.execute(
            "INSERT INTO attempts (notebook, question, response, correct, credit, answered_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", row))

    def attempts(self, notebook: str | None = None) -> list[Attempt]:
        """All attempts in answering order, optionally for one notebook. Rows damaged inside
        an otherwise intact file (bytes overwritten, not UTF-8, not JSON) are skipped with
        a `ProgressWarning` rather than taking every other answer down with them."""
        # Columns are read as bytes and decoded here: sqlite3 would otherwise raise
        # OperationalError for the whole query on one row that is not UTF-8.
        sql = ("SELECT id, CAST(notebook AS BLOB), CAST(question AS BLOB), CAST(response AS BLOB),"
               " correct, credit, CAST(answered_at AS BLOB) FROM attempts")
        params: tuple[str, ...] = ()
        if notebook is not None:
            sql, params = sql + " WHERE notebook = ?", (notebook,)
        rows = self._run(lambda con: con.execute(sql + " ORDER BY id", params).fetchall())
        attempts, damaged = [], []
        for row_id, *fields in rows:
            attempt = _attempt_from(*fields)
            if attempt is None:
                damaged.append(row_id)
            else:
                attempts.append(attempt)
        if damaged:
            warnings.warn(f"{len(damaged)} damaged answer(s) in {self.path} were skipped (row id "
                          f"{', '.join(map(str, damaged[:5]))}{', ...' if len(damaged) > 5 else ''}).",
                          ProgressWarning, stacklevel=2)
        return attempts

    def latest(self, notebook: str) -> dict[str, Attempt]:
        """Each question's most recent attempt in `notebook`."""
        return {a.question: a for a in self.attempts(notebook)}

    def close(self) -> None:
        self._connection.close()
        self._use.release()

    # -- opening and recovery -----------------------------------------------------------

    def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run `operation` in one committed transaction; on a corrupt file, replace it and
        retry once (another kernel may have corrupted it under us). Every other failure
        keeps the file and becomes a `ProgressError`."""
        try:
            try:
                with self._connection as con:  # commits on success, rolls back on error
                    return operation(con)
            except sqlite3.DatabaseError as error:
                if self.read_only or not _is_unreadable(error):
                    raise
                self._connection = self._replace(str(error), self._connection)
                with self._connection as con:
                    return operation(con)
        except sqlite3.Error as error:
            raise _problem(self.path, error) from None

    def _open_or_replace(self) -> sqlite3.Connection:
        try:
            existed = self.path.exists()
        except OSError as error:  # its folder cannot be searched
            return _in_memory(self.path, "its folder cannot be read", error)
        if existed and not _writable(self.path):  # before SQLite leaves -wal/-shm files beside it
            raise _problem(self.path, PermissionError(errno.EACCES, "permission denied"))
        try:
            connection = _open(self.path)
        except _Unusable as problem:
            return self._replace(problem.args[0])
        except _Newer:
            raise _newer_error(self.path) from None
        except (OSError, sqlite3.Error) as error:
            if existed:
                raise _problem(self.path, error) from None
            return _in_memory(self.path, "no database could be created there", error)
        self._ours = True
        return connection

    def _replace(self, reason: str, connection: sqlite3.Connection | None = None) -> sqlite3.Connection:
        """Move the unusable file aside and start a new one, or fall back to memory. `connection`
        (this store's own, to the unusable file) is closed first. Only a damaged progress file
        is moved, and only when no other store has it open; a folder, or a file that is not
        ours, is refused (`ProgressError`)."""
        if refusal := self._refusal():
            raise refusal
        alone = self._use.alone()
        if connection is not None:
            connection.close()
        if not alone:
            self._use.release()
            return _in_memory(self.path, f"it is unusable ({reason}), but another notebook has it open, "
                              "so it is left in place: close the other notebooks (or restart their kernels) "
                              "and run this cell again", ProgressError("kept as it is"))
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
        except (OSError, sqlite3.Error, _Unusable, _Newer) as error:
            self._use.release()
            return _in_memory(self.path, f"it is unusable ({reason}) and no new one could be "
                              "created there", error)
        finally:
            self._use.shared()
        self._ours = True
        warnings.warn(f"Course progress database {self.path} was unusable ({reason}); it was "
                      f"moved to {aside.name} and a new one was started.", ProgressWarning,
                      stacklevel=3)
        return connection


    def _refusal(self) -> ProgressError | None:
        """Why the file in the way must not be moved, if it must not: a folder never is (BERTCOURSE_PROGRESS
        may name ~/Documents), nor a file that is not a SQLite database unless it is the course's
        own (named progress.sqlite, or opened as a progress database by this store)."""
        if not os.path.exists(self.path):  # (os.path's never raises)
            return None
        if self.path.is_dir():
            what = "is a folder"
        elif not (self._ours or self.path.name == "progress.sqlite" or _looks_like_sqlite(self.path)):
            what = "is not a SQLite database"
        else:
            return None
        return ProgressError(f"{self.path} {what}, so it cannot hold your course progress; it is left as it is.",
                             "set BERTCOURSE_PROGRESS to the path of a progress file (e.g. "
                             "~/bertcourse-progress.sqlite), or move that one away yourself")


def _looks_like_sqlite(path: Path) -> bool:
    """Empty, or starting with SQLite's header (a damaged database still has it)."""
    with contextlib.suppress(OSError), path.open("rb") as handle:
        head = handle.read(16)
        return head in (b"", b"SQLite format 3\x00")
    return False


def _writable(path: Path) -> bool:
    return path.is_dir() or os.access(path, os.R_OK | os.W_OK)


def _is_unreadable(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorname", "").startswith(_UNREADABLE)


def _newer_error(path: Path) -> ProgressError:
    return ProgressError(f"Your course progress in {path} was written by a newer version of "
                         "bertcourse; it is kept as it is.",
                         "update the course (git pull, then `make setup`), or set BERTCOURSE_PROGRESS "
                         "to another file to start separately")


def _in_memory(path: Path, why: str, error: BaseException) -> sqlite3.Connection:
    reason = error.problem if isinstance(error, CourseError) else str(error)
    warnings.warn(f"Not saved: course progress database {path}: {why} ({reason}); answers in this "
                  f"session are kept in memory only. Set {_setting()} to a folder or file you can "
                  "write to.", ProgressWarning, stacklevel=4)
    return _open(MEMORY)


def _attempt_from(notebook: bytes, question: bytes, response: bytes, correct: Any, credit: Any,
                  answered_at: bytes) -> Attempt | None:
    """The Attempt a stored row holds, or None when the row is damaged."""
    try:
        texts = [value.decode("utf-8") for value in (notebook, question, response, answered_at)]
        decoded = json.loads(texts[2])
    except (AttributeError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(decoded, dict) or correct not in (0, 1) or not isinstance(credit, float | int):
        return None
    return Attempt(texts[0], texts[1], decoded, bool(correct), float(credit), texts[3])


def _open(path: Path) -> sqlite3.Connection:
    """Open, check and (if new) initialise a progress database. Raises _Unusable if the
    file is not a readable progress database, _Newer if a newer course wrote it, and the
    OSError or sqlite3.Error otherwise (the file is fine but cannot be used now)."""
    connection = None
    try:
        if path != MEMORY:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                raise _Unusable("a folder is in its place")
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        _initialise(connection)
        return connection
    except BaseException as error:
        if connection is not None:
            connection.close()
        if isinstance(error, sqlite3.DatabaseError) and _is_unreadable(error):
            raise _Unusable(str(error)) from None
        raise


def _open_for_reading(path: Path) -> sqlite3.Connection:
    """A read-only connection that changes nothing on disk: no move, no new file. Without a
    `-wal` file the database is fully checkpointed, so it is opened `immutable` (which
    creates no `-shm` either); with one, SQLite's read-only mode reads the WAL too."""
    if not path.is_file():
        raise ProgressError(f"No course progress found at {path}.",
                            "answer a quiz first, or set BERTCOURSE_PROGRESS to your progress file")
    wal = path.with_name(path.name + "-wal")
    has_wal = wal.exists()
    uri = f"{path.resolve().as_uri()}?{'mode=ro' if has_wal else 'immutable=1'}"
    connection = None
    try:
        if has_wal and not path.with_name(path.name + "-shm").exists():
            connection = _snapshot(path, wal)  # SQLite would create the -shm beside it
        else:
            connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        check = connection.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise _Unusable(f"integrity check failed: {check}")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise _Newer()
        if version != SCHEMA_VERSION:
            raise _Unusable("it is not a bertcourse progress database")
        return connection
    except BaseException as error:
        if connection is not None:
            connection.close()
        if isinstance(error, _Newer):
            raise _newer_error(path) from None
        if isinstance(error, _Unusable) or (isinstance(error, sqlite3.Error) and _is_unreadable(error)):
            reason = error.args[0] if isinstance(error, _Unusable) else str(error)
            raise ProgressError(f"{path} is not a readable course progress database ({reason}).",
                                "open a quiz once: it moves the damaged file aside and starts a new "
                                "one, or set BERTCOURSE_PROGRESS to the right file") from None
        if isinstance(error, sqlite3.Error):
            raise _problem(path, error) from None
        raise


def _snapshot(path: Path, wal: Path) -> sqlite3.Connection:
    """An in-memory copy of a database and its -wal, read from a private copy of both. Used when
    the -shm index is missing (no connection is open: a killed kernel's files, or files copied
    from elsewhere), where reading in place would create one."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "progress.sqlite"
        shutil.copyfile(path, copy)
        shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        source = sqlite3.connect(copy)
        try:
            connection = sqlite3.connect(":memory:", check_same_thread=False)
            source.backup(connection)
        finally:
            source.close()
    return connection


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
        if version > SCHEMA_VERSION and tables:
            raise _Newer()
        if version not in (0, SCHEMA_VERSION) or (version == 0 and tables):
            raise _Unusable("it is not a bertcourse progress database")
        for statement in _SCHEMA:
            connection.execute(statement)
        # Made here, not on the first quiz: a learner who has only checked exercises exports too.
        connection.execute("INSERT OR IGNORE INTO meta VALUES ('learner_id', ?)", (uuid.uuid4().hex,))
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        connection.rollback()
        raise
    connection.commit()

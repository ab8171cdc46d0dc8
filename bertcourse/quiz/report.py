"""The instructor's report over a folder of learners' exported progress files.

Submissions are untrusted: each file is size-checked before it is read, parsed with
`json` only (nothing is ever executed or unpickled), validated against the export schema,
and every answer is *re-graded* against the course's own banks instead of trusting the
file's "correct" flags. A computed question's answer depends on the learner's live objects,
so it is checked against the values the course's own models give (see `computed.py`); only
where no such reference exists is the flag taken as submitted, with a note. Two different
files claiming one learner id are both shown and the conflict is flagged; a file whose
answers another export of the same learner extends is a stale re-export and is skipped.
A file that fails any check is listed with the reason and skipped; the report is built from
the rest. One answer that fails the schema inside an otherwise valid file costs only that
answer, with a note.

What this cannot catch: answer keys are salted hashes next to their salt, i.e. obfuscation,
so a learner willing to run code can recover every answer and hand in a file that is
entirely consistent. Exercise checks cannot be re-graded at all (the learner's code is not in
the file): their verdicts and failing tests count as submitted. Fine for self-study; not a
basis for grades. Every string
that came from a submission is made printable and shortened before it is shown, and
HTML-escaped in the HTML summary.
"""

from __future__ import annotations

import html
import json
import os
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bertcourse.course import plain_text

from .bank import BANKS_DIR, Bank, Question, QuizBankError, available_banks, load_bank
from .computed import REGISTRY
from .exercises.catalog import entries as exercise_entries
from .export import ATTEMPT_SCHEMA, HAND_IN_SCHEMA
from .grading import InvalidResponse, describe, grade
from .keys import normalise_text
from .records import QUESTION_PREFIX, ExerciseRecord

MAX_FILE_BYTES = 5 * 1024 * 1024
MOST_MISSED = 5
_SHOWN_CHARS = 40


@dataclass(frozen=True)
class Skipped:
    """A file left out of the report, and why."""

    file: str
    reason: str


@dataclass
class Learner:
    """One accepted submission, re-graded: per (notebook, question), the tries in the order
    they were made as (correct, what was wrong in it): the answer in words, or for a
    multiple-select question each wrong option chosen (none if it only missed right ones)."""

    file: str
    id: str
    name: str
    tries: dict[tuple[str, str], list[tuple[bool, tuple[str, ...]]]] = field(default_factory=dict)
    checks: dict[str, list[tuple[bool, tuple[str, ...]]]] = field(default_factory=dict)  # exercise -> (passed, failing tests)
    revealed: set[str] = field(default_factory=set)  # exercises whose solution was shown

    def correct_by_notebook(self, banks: dict[str, Bank]) -> dict[str, list[bool]]:
        """Latest-attempt verdicts of the questions answered, per notebook."""
        return {notebook: [self.tries[(notebook, q.id)][-1][0] for q in bank.questions
                           if (notebook, q.id) in self.tries]
                for notebook, bank in banks.items()}


@dataclass(frozen=True)
class QuestionStats:
    """How the class did on one question. `never_solved` and `first_try_misses` count learners;
    `top_wrong` is the wrong answer given by the most learners, with how many gave it."""

    notebook: str
    question: str
    learners: int
    first_try: float
    latest: float
    top_wrong: tuple[str, int] | None
    never_solved: int = 0
    first_try_misses: int = 0

    @property
    def label(self) -> str:
        return f"{self.notebook}/{self.question}"


@dataclass(frozen=True)
class ExerciseStats:
    """How the class did on one coding exercise (verdicts as submitted: code is not re-run)."""

    exercise: str
    learners: int
    first_try: float
    latest: float
    revealed: int
    top_failing: tuple[str, int] | None


@dataclass
class Report:
    """Everything the table, the HTML summary and the plots show."""

    banks: dict[str, Bank]
    learners: list[Learner]
    questions: list[QuestionStats]
    skipped: list[Skipped]
    notes: list[str]
    exercises: list[str] = field(default_factory=list)  # the exercise ids of the notebooks reported on
    exercise_stats: list[ExerciseStats] = field(default_factory=list)

    @property
    def question_total(self) -> int:
        return sum(len(bank.questions) for bank in self.banks.values())

    def score_rows(self) -> list[list[str]]:
        """Per learner: correct/total for each quiz (— when not started) and overall."""
        total = self.question_total
        rows = []
        for learner in self.learners:
            verdicts = learner.correct_by_notebook(self.banks)
            cells = [f"{sum(v)}/{len(self.banks[nb].questions)}" if v else "—" for nb, v in verdicts.items()]
            rows.append([learner.name, *cells, f"{sum(map(sum, verdicts.values()))}/{total}"])
        return rows

    def overall_percents(self) -> list[float]:
        """Each learner's correct answers as a share of all course questions."""
        total = max(self.question_total, 1)
        return [100 * sum(map(sum, learner.correct_by_notebook(self.banks).values())) / total
                for learner in self.learners]

    def question_rows(self) -> list[list[str]]:
        return [[s.label, str(s.learners), f"{s.first_try:.0%}", f"{s.latest:.0%}"]
                for s in self.questions]

    def missed_rows(self) -> list[list[str]]:
        """The questions most worth revisiting: first those the most learners never got right,
        then those the most learners missed at first (a question solved in the end ranks below
        one still unsolved, whatever the first-try rate)."""
        missed = sorted((s for s in self.questions if s.first_try_misses),
                        key=lambda s: (-s.never_solved, -s.first_try_misses, s.label))[:MOST_MISSED]
        return [[s.label, f"{s.never_solved} of {s.learners}", f"{s.first_try_misses} of {s.learners}",
                 f"“{s.top_wrong[0]}” ({_learners(s.top_wrong[1])})" if s.top_wrong else "—"] for s in missed]

    def exercise_score_rows(self) -> list[list[str]]:
        """Per learner who checked any exercise: passed/total (latest check) and solutions seen."""
        return [[learner.name,
                 f"{sum(learner.checks[e][-1][0] for e in self.exercises if e in learner.checks)}/{len(self.exercises)}",
                 str(len(learner.revealed & set(self.exercises)))]
                for learner in self.learners if learner.checks or learner.revealed]

    def exercise_rows(self) -> list[list[str]]:
        return [[s.exercise, str(s.learners), f"{s.first_try:.0%}", f"{s.latest:.0%}", str(s.revealed),
                 f"“{s.top_failing[0]}” ({s.top_failing[1]}×)" if s.top_failing else "—"]
                for s in self.exercise_stats]

    def sections(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """(title, headers, rows) of every table, shared by the text and HTML output."""
        return [
            ("Scores (correct answers, latest attempt)", ["learner", *self.banks, "total"],
             self.score_rows()),
            ("Exercise scores (passed, latest check; as submitted, code is not re-run)",
             ["learner", "exercises passed", "solutions shown"], self.exercise_score_rows()),
            ("Per-question success (share of learners who answered)",
             ["question", "learners", "first try", "latest"], self.question_rows()),
            ("Per-exercise results (share of learners who checked it)",
             ["exercise", "learners", "passed first try", "passed latest", "solution shown",
              "most common failing test"], self.exercise_rows()),
            ("Most missed questions (learners who answered)",
             ["question", "never right", "wrong at first", "most given wrong answer"], self.missed_rows()),
            ("Skipped files", ["file", "reason"], [[s.file, s.reason] for s in self.skipped]),
            ("Notes", ["note"], [[note] for note in self.notes]),
        ]

    def to_text(self) -> str:
        lines = [f"Instructor report: {len(self.learners)} learner(s), {len(self.skipped)} file(s) skipped"]
        for title, headers, rows in self.sections():
            if rows:
                lines += ["", title, *plain_text.table(headers, rows)]
        return "\n".join(lines)

    def tables_html(self) -> str:
        parts = [f"<p>{len(self.learners)} learner(s), {len(self.skipped)} file(s) skipped.</p>"]
        for title, headers, rows in self.sections():
            if rows:
                head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
                body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                               for row in rows)
                parts.append(f"<h3>{html.escape(title)}</h3><table><thead><tr>{head}</tr></thead>"
                             f"<tbody>{body}</tbody></table>")
        return "\n".join(parts)

    def figures(self) -> dict[str, Figure]:
        """The plots, by file name."""
        return {"success_rate.png": _success_figure(self.questions),
                "scores.png": _score_figure(self.overall_percents())}

    def write(self, out_dir: Path, now: datetime | None = None) -> list[Path]:
        """Write the plots and `report.html` into `out_dir`; return the files written. The page
        is dated (`now`, default the current time) so a printed copy says when it was made."""
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, figure in self.figures().items():
            figure.savefig(out_dir / name, dpi=100)
            written.append(out_dir / name)
        images = "".join(f'<p><img src="{name}" alt="{alt}"></p>' for name, alt in
                         [("success_rate.png", "First-try success rate per question"),
                          ("scores.png", "Distribution of learners' overall scores")])
        made = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Quiz report {made}"
                f"</title><style>{_CSS}</style></head><body><h1>Quiz report</h1>"
                f"<p class=\"made\">Made on {made} from the exports in one folder.</p>{self.tables_html()}"
                f"{images}</body></html>\n")
        (out_dir / "report.html").write_text(page, encoding="utf-8")
        return [*written, out_dir / "report.html"]


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1f2937; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; }
.made { color: #4b5563; margin-top: 0; }
h3 { margin-top: 2rem; border-bottom: 2px solid #e5e7eb; padding-bottom: 0.2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.95rem; }
th, td { border: 1px solid #d1d5db; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
tbody tr:nth-child(even) { background: #f9fafb; }
img { max-width: 100%; border: 1px solid #e5e7eb; }
@media print { body { margin: 0; max-width: none; } }
"""


def build_report(folder: Path, notebooks: Sequence[str] | None = None, banks_dir: Path = BANKS_DIR) -> Report:
    """Read, check and re-grade every submission in `folder`, reporting on the quizzes of
    `notebooks` (default: every bank, e.g. limit it to the lessons taught so far)."""
    banks: dict[str, Bank] = {}
    notes: list[str] = []
    for notebook in notebooks or available_banks(banks_dir):
        try:
            banks[notebook] = load_bank(notebook, banks_dir)
        except QuizBankError as error:
            notes.append(f"bank {notebook} left out: {error.problem}")
    documents, skipped = {}, []
    for name, document, problem in _read_folder(folder):
        if problem:
            skipped.append(Skipped(name, problem))
        else:
            documents[name] = document
    documents, duplicates, conflicts = _drop_duplicates(documents)
    notes += [f"{' and '.join(files)} claim the same learner id but hold different answers; both "
              "are shown, marked with their file: check with the learner" for files in conflicts]
    exercises = [item.id for item in exercise_entries().values() if item.notebook in banks]
    learners = sorted((_regrade(name, doc, banks, set(exercises), notes) for name, doc in documents.items()),
                      key=lambda learner: (learner.name.casefold(), learner.id, learner.file))
    _disambiguate(learners)
    return Report(banks, learners, _question_stats(banks, learners), skipped + duplicates, notes,
                  exercises, _exercise_stats(exercises, learners))


def printable(text: str, limit: int = _SHOWN_CHARS) -> str:
    """Untrusted text made safe to print: control, format and separator characters other
    than the plain space are escaped (so a name cannot move the cursor, fake a new line or
    hide text), and long text is shortened, at a space where one is near the limit."""
    shown = "".join(c if unicodedata.category(c)[0] not in "CZ" or c == " " else ascii(c)[1:-1]
                    for c in text)
    if len(shown) <= limit:
        return shown
    cut = shown[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space >= limit // 2 else cut).rstrip() + "…"


def _read_folder(folder: Path) -> Iterable[tuple[str, dict[str, Any] | None, str | None]]:
    """(shown name, document, problem) for every entry of `folder`, in name order."""
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        name = printable(entry.name, 80)
        if entry.is_symlink():
            yield name, None, "is a symbolic link"
        elif not entry.is_file(follow_symlinks=False):
            yield name, None, "is not a regular file"
        elif not entry.name.endswith(".json"):
            yield name, None, "is not a .json file"
        elif (size := entry.stat(follow_symlinks=False).st_size) > MAX_FILE_BYTES:
            yield name, None, f"is too large ({size:,} bytes; the limit is {MAX_FILE_BYTES:,})"
        else:
            document, problem = _parse(Path(entry.path))
            yield name, document, problem


def _parse(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            return None, "is too large"
        document = json.loads(data.decode("utf-8-sig"))  # an editor's byte order mark is fine
    except OSError as error:
        return None, f"cannot be read ({error.strerror})"
    except UnicodeDecodeError:
        return None, "is not UTF-8 text"
    except json.JSONDecodeError as error:
        return None, f"is not valid JSON (line {error.lineno}, column {error.colno})"
    except (ValueError, RecursionError):
        return None, "is not valid JSON (numbers too long or nesting too deep)"
    problem = HAND_IN_SCHEMA.problem(document)
    if problem is not None:
        return None, f"is not a bertcourse progress export ({printable(problem, 100)})"
    try:
        _exported_at(document)
    except ValueError:
        return None, "is not a bertcourse progress export (exported_at is not a real date)"
    return document, None


def _regrade(file: str, document: dict[str, Any], banks: dict[str, Bank], exercises: set[str],
             notes: list[str]) -> Learner:
    learner = Learner(file, document["learner"]["id"], printable(document["learner"]["name"]))
    unknown = ungradable = disagreed = unchecked = 0
    invalid: list[str] = []  # one damaged answer costs that answer, not the learner's hand-in
    for index, attempt in enumerate(document["attempts"]):
        if (problem := ATTEMPT_SCHEMA.problem(attempt)) is not None:
            invalid.append(f"attempts[{index}] {printable(problem, 80)}")
            continue
        if attempt["question"].startswith(QUESTION_PREFIX):
            unknown += not _take_exercise(learner, attempt, exercises)
            continue
        bank = banks.get(attempt["notebook"])
        question = bank.question(attempt["question"]) if bank else None
        if question is None:
            unknown += 1
            continue
        try:
            if question.type != "computed":
                correct = grade(question, attempt["response"]).correct
            elif (references := REGISTRY[question.compute].reference_values(question.args)) is not None:
                correct = any(grade(question, attempt["response"], value).correct for value in references)
            else:
                correct, unchecked = attempt["correct"], unchecked + 1
            wrong = _wrong_parts(question, attempt["response"])
        except InvalidResponse:
            ungradable += 1
            continue
        disagreed += correct != attempt["correct"]
        learner.tries.setdefault((bank.notebook, question.id), []).append((correct, wrong))
    for count, what in [(len(invalid), "damaged answer(s) were skipped: " + "; ".join(invalid[:3])),
                        (unknown, "answer(s) to questions outside the quizzes reported on were ignored"),
                        (ungradable, "answer(s) that do not fit their question were ignored"),
                        (disagreed, "answer(s) were re-graded: the file's correct flag was wrong"),
                        (unchecked, "computed answer(s) could not be re-checked here and count as "
                                    "submitted")]:
        if count:
            notes.append(f"{file}: {count} {what}")
    return learner


def _take_exercise(learner: Learner, attempt: dict[str, Any], exercises: set[str]) -> bool:
    """Add one exercise check (or a shown solution) to `learner`; False if it is not one of the
    exercises reported on or does not have an exercise's response. A learner's code is never
    in the file, so its verdict cannot be re-checked: it counts as submitted."""
    record = ExerciseRecord.read(attempt["notebook"], attempt["question"], attempt["response"],
                                 attempt["correct"], attempt["credit"])
    if record is None or record.exercise not in exercises:
        return False
    if record.revealed:
        learner.revealed.add(record.exercise)
    else:
        learner.checks.setdefault(record.exercise, []).append((record.passed, record.failed))
    return True


def _exercise_stats(exercises: list[str], learners: list[Learner]) -> list[ExerciseStats]:
    stats = []
    for exercise in exercises:
        checks = [learner.checks[exercise] for learner in learners if exercise in learner.checks]
        revealed = sum(exercise in learner.revealed for learner in learners)
        if not checks and not revealed:
            continue
        failing = Counter(name for tries in checks for _, names in tries for name in names)
        top = failing.most_common(1)[0] if failing else None
        stats.append(ExerciseStats(
            exercise, len(checks),
            first_try=sum(t[0][0] for t in checks) / len(checks) if checks else 0.0,
            latest=sum(t[-1][0] for t in checks) / len(checks) if checks else 0.0,
            revealed=revealed, top_failing=(printable(top[0], 70), top[1]) if top else None))
    return stats


def _exported_at(document: dict[str, Any]) -> datetime:
    moment = datetime.fromisoformat(document["exported_at"])
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _drop_duplicates(documents: dict[str, dict[str, Any]]
                     ) -> tuple[dict[str, dict[str, Any]], list[Skipped], list[list[str]]]:
    """Files sharing a learner id. Attempts are append-only, so a real later export starts
    with every attempt of the earlier one: the earlier file is skipped as stale. Files that
    disagree cannot be told apart by anything in them (exported_at is as editable as the
    rest), so they are all kept and returned as a conflict for the report to flag."""
    by_id: dict[str, list[str]] = {}
    for name in documents:
        by_id.setdefault(documents[name]["learner"]["id"], []).append(name)
    skipped, conflicts = [], []
    for names in by_id.values():
        # Longest history first, then the later export, then the name, so ties are stable.
        names.sort(key=lambda n: (-len(documents[n]["attempts"]), -_exported_at(documents[n]).timestamp(), n))
        kept: list[str] = []
        for name in names:
            extended_by = next((k for k in kept if _extends(documents[k], documents[name])), None)
            if extended_by is None:
                kept.append(name)
            else:
                shown = printable(documents[extended_by]["learner"]["name"])
                skipped.append(Skipped(name, f"duplicate of learner {shown} (kept the newer export {extended_by})"))
        if len(kept) > 1:
            conflicts.append(sorted(kept))
        for name in names:
            if name not in kept:
                del documents[name]
    return documents, skipped, conflicts


def _extends(later: dict[str, Any], earlier: dict[str, Any]) -> bool:
    """Whether `later`'s attempts begin with all of `earlier`'s, in order."""
    count = len(earlier["attempts"])
    return later["attempts"][:count] == earlier["attempts"]


def _disambiguate(learners: list[Learner]) -> None:
    """Different learners who share a display name get their id's start appended; files in
    conflict over one id get their file name."""
    names = Counter(learner.name for learner in learners)
    ids = Counter(learner.id for learner in learners)
    for learner in learners:
        if ids[learner.id] > 1:
            learner.name = f"{learner.name} ({learner.file})"
        elif names[learner.name] > 1:
            learner.name = f"{learner.name} ({learner.id[:6]})"


def most_common_wrong(wrong: Counter[str]) -> tuple[str, int] | None:
    """The wrong answer the most learners gave, ties broken by the answer's text: `Counter.most_common`
    breaks ties by insertion order, which here follows a set's hash order, so the report (and notebook 90's
    committed output) would change with Python's hash seed."""
    return min(wrong.items(), key=lambda item: (-item[1], item[0])) if wrong else None


def _question_stats(banks: dict[str, Bank], learners: list[Learner]) -> list[QuestionStats]:
    stats = []
    for notebook, bank in banks.items():
        for question in bank.questions:
            tries = [lr.tries[(notebook, question.id)] for lr in learners if (notebook, question.id) in lr.tries]
            if not tries:
                continue
            # each learner counts once per wrong answer, however often they gave it
            wrong = Counter(key for learner_tries in tries
                            for key in {_wrong_key(question.type, part)
                                        for ok, parts in learner_tries if not ok for part in parts})
            top = most_common_wrong(wrong)
            stats.append(QuestionStats(
                notebook, question.id, len(tries),
                first_try=sum(t[0][0] for t in tries) / len(tries),
                latest=sum(t[-1][0] for t in tries) / len(tries),
                top_wrong=(printable(top[0], 60), top[1]) if top else None,
                never_solved=sum(not any(ok for ok, _ in t) for t in tries),
                first_try_misses=sum(not t[0][0] for t in tries)))
    return stats


def _learners(count: int) -> str:
    return f"{count} learner{'s' if count != 1 else ''}"


def _wrong_parts(question: Question, response: dict[str, Any]) -> tuple[str, ...]:
    """What to count as "chosen wrong" in one try: the answer in words, except on a
    multiple-select question, where it is each wrong option chosen (right options chosen
    alongside them are not wrong answers)."""
    if question.type != "multiple":
        return (describe(question, response),)
    chosen = set(response["choices"])
    return tuple(c.text for c in question.choices if c.id in chosen and not question.is_correct_choice(c))


def _wrong_key(kind: str, answer: str) -> str:
    """Group spellings that grade the same ("MASK", " mask ") as one wrong answer."""
    return normalise_text(answer) if kind == "text" else answer


def _success_figure(questions: list[QuestionStats]) -> Figure:
    figure = Figure(figsize=(8, 1.5 + 0.25 * max(len(questions), 1)), layout="constrained")
    axes = figure.subplots()
    labels = [s.label for s in questions]
    axes.barh(labels, [100 * s.first_try for s in questions], color="#4c72b0", label="first try")
    axes.scatter([100 * s.latest for s in questions], labels, color="#dd8452", zorder=3,
                 label="latest answer")
    axes.invert_yaxis()
    axes.set_xlim(0, 102)
    axes.set_xlabel("learners answering correctly (%)")
    axes.set_title("Success rate per question")
    if questions:
        figure.legend(loc="outside lower center", ncols=2)
    return figure


def _score_figure(percents: list[float]) -> Figure:
    figure = Figure(figsize=(6, 3.5), layout="constrained")
    axes = figure.subplots()
    axes.hist(percents, bins=range(0, 101, 10), color="#55a868", edgecolor="white")
    axes.set_xlim(0, 100)
    axes.set_xlabel("overall score (% of all course questions)")
    axes.set_ylabel("learners")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Distribution of learners' overall scores")
    return figure

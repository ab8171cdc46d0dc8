"""A synthetic class for the instructor notebook: `data/quiz_demo_exports/`.

Fictional learners answer the real course quizzes through the real widgets (pick, Check,
Try again) and hand in with the real export code, so the demo files are exactly what
learners produce. They guess: options at random, numbers and words from pools of values
that come up in the course. The simulation never looks at an answer key; whether a guess
was right is whatever the widget says, and a learner keeps trying until it is right or
their patience (`tries`) runs out. They check each exercise of those notebooks with the
course's known-wrong variants before a right one; the impatient look at the solution first. One learner also hands in twice (the report keeps the
newer file) and one upload is cut short (the report skips it).

Regenerate with `python -m bertcourse.tools.quiz_demo data/quiz_demo_exports`.

Room: tools (author command).
"""

from __future__ import annotations

import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bertcourse.quiz.bank import load_bank
from bertcourse.quiz.exercises.catalog import Entry, compile_function
from bertcourse.quiz.exercises.catalog import of_notebook as exercise_entries
from bertcourse.quiz.exercises.engine import record, run
from bertcourse.quiz.export import write_export
from bertcourse.quiz.records import ExerciseRecord, write
from bertcourse.quiz.store import ProgressStore
from bertcourse.quiz.widget import QuestionView, QuizView

NUMBER_GUESSES = ["4", "12", "15", "16", "24", "64", "110", "340", "512", "768", "1024", "3072", "30522"]
WORD_GUESSES = ["[MASK]", "[UNK]", "[CLS]", "WordPiece", "BPE", "mask", "SentencePiece"]


@dataclass(frozen=True)
class SimulatedLearner:
    name: str
    tries: int
    notebooks: tuple[str, ...]
    seed: int


CLASS = [
    SimulatedLearner("Ada Example", 4, ("00_start_here", "01_tokenization", "02_architecture"), 1),
    SimulatedLearner("Ben Sample", 2, ("00_start_here", "01_tokenization"), 2),
    SimulatedLearner("Chen Placeholder", 1, ("00_start_here",), 3),
    SimulatedLearner("Dana Fictive", 3, ("00_start_here", "02_architecture"), 4),
]


def answer(view: QuestionView, rng: random.Random, tries: int) -> None:
    """Guess until the widget says correct or `tries` are used up."""
    question = view.question
    for attempt in range(tries):
        if attempt:
            view.retry_button.click()
        if question.type == "single":
            view.answer.value = rng.choice(sorted(c.id for c in question.choices))
        elif question.type == "multiple":
            for cid in sorted(view.checkboxes):
                view.checkboxes[cid].value = rng.random() < 0.5
        else:
            view.text_field.value = rng.choice(NUMBER_GUESSES if question.type == "numeric" else WORD_GUESSES)
        view.check_button.click()
        if view.grade is not None and view.grade.correct:
            return


def exercise(item: Entry, store: ProgressStore, rng: random.Random, tries: int) -> None:
    """Check known-wrong versions of the exercise (the course's own wrong variants, run through
    the real tests) with all but the last try; an impatient learner (two tries or fewer) then
    looks at the solution; the last try is a right one."""
    wrong = [w for w in item.wrong_variants() if "did not return" not in w.says]  # keep the demo quick
    for _ in range(tries - 1):
        variant = rng.choice(wrong)
        record(run(item.id, compile_function(variant.source, item.function, variant.name)), store)
    if tries <= 2:
        write(store, ExerciseRecord.solution_shown(item.notebook, item.id))
    record(run(item.id, item.reference()), store)


def simulate(learner: SimulatedLearner, store: ProgressStore, notebooks: tuple[str, ...]) -> None:
    rng = random.Random(learner.seed)
    for notebook in notebooks:
        view = QuizView(load_bank(notebook), store, {})
        for question in view.questions:
            if question.question.type != "computed":  # the demo has no live tokenizer/config
                answer(question, rng, learner.tries)
        for item in exercise_entries(notebook):
            exercise(item, store, rng, learner.tries)


def make_class(out_dir: Path) -> list[Path]:
    """Write the demo class's exports (plus one duplicate and one broken file) to `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        for learner in CLASS:
            store = ProgressStore(Path(scratch) / f"{learner.seed}.sqlite")
            slug = learner.name.lower().replace(" ", "-")
            if learner.name == "Ben Sample":  # hands in after the first quiz, then again later
                simulate(learner, store, learner.notebooks[:1])
                written.append(write_export(store, learner.name, out_dir / f"{slug}-first-try.json"))
                simulate(learner, store, learner.notebooks[1:])
            else:
                simulate(learner, store, learner.notebooks)
            written.append(write_export(store, learner.name, out_dir / f"{slug}.json"))
            store.close()
    broken = out_dir / "upload-cut-short.json"
    broken.write_text(written[0].read_text(encoding="utf-8")[:300], encoding="utf-8")
    return [*written, broken]


if __name__ == "__main__":
    for path in make_class(Path(sys.argv[1] if len(sys.argv) > 1 else "data/quiz_demo_exports")):
        print(path)

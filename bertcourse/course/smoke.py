"""Smoke mode: the same notebooks, code paths, checkpoints and data, with every budget cut.

`bertcourse run --profile gpu --smoke` (or `BERTCOURSE_SMOKE=1` for one notebook) checks an
instructor's path end to end on a machine without a GPU in minutes instead of hours. It changes
how long things run, never which code runs:

- every dataset split is cut to its first rows (`SmokeCaps.train_rows` for a training split,
  `eval_rows` for the others), so optimisation, evaluation and frozen-feature extraction see few
  examples; corpora keep a few documents of a few sentences each;
- every training recipe (`profiles.recipe_for`) runs at most `max_epochs` passes;
- loops a lesson counts in steps (`cap_steps`) run at most `max_steps`;
- pretraining budgets (`bertcourse.pretrain_settings`) turn minutes into seconds, on the smallest
  model size with a small batch (a GPU-sized model spends minutes on one CPU evaluation).

The numbers a smoke run prints say nothing about the lesson's results (a few steps on a few rows
learn little): a smoke run only proves that every cell runs and every headline metric is reported.
So `bertcourse run --smoke` lists a notebook's failed result checks (its `assert`s) and goes on,
while any other error fails the notebook (`bertcourse.tools.notebook_runner`).
`start_lesson` prints the active caps, as it prints the profile's substitutions.

Room: course (`bertcourse.course`); imports only other course modules (none: plain data, no torch).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

ENV = "BERTCOURSE_SMOKE"


@dataclass(frozen=True)
class SmokeCaps:
    """How far smoke mode cuts each budget (sized so lessons 00-09 run in ~6 min on 2 idle cores)."""

    train_rows: int = 32  # rows kept of a training split
    eval_rows: int = 32  # rows kept of every other split
    corpus_sentences: int = 320  # sentences kept of a training corpus...
    eval_corpus_sentences: int = 80  # ...and of any other corpus split...
    document_sentences: int = 24  # ...from documents cut to this many sentences (Wikipedia articles are long)
    max_epochs: float = 1.0  # passes over the (cut) training split
    max_steps: int = 8  # steps of a loop a lesson counts in steps
    seconds_per_minute: float = 1.0  # a pretraining budget of N minutes runs N seconds
    max_pretrain_steps: int = 100  # a pretraining run fixed in steps
    pretrain_batch_size: int = 8  # at most: a GPU-sized batch takes minutes per step on a CPU
    pretrain_model_size: str = "tiny-laptop"  # a GPU-sized model takes minutes per held-out evaluation on a CPU

    def describe(self) -> str:
        return (f"{self.train_rows} training rows, {self.eval_rows} rows of other splits (plus a row of each "
                f"label they lack), corpora {self.corpus_sentences} / {self.eval_corpus_sentences} sentences "
                f"(<= {self.document_sentences} a document), "
                f"at most {self.max_epochs:g} epoch / {self.max_steps} steps; pretraining: minutes -> seconds, "
                f"at most {self.max_pretrain_steps} steps, batch <= {self.pretrain_batch_size}, "
                f"model size {self.pretrain_model_size}")


CAPS = SmokeCaps()


def active() -> bool:
    """Whether this process runs in smoke mode (`BERTCOURSE_SMOKE` set to 1/true/yes)."""
    return os.environ.get(ENV, "").strip().lower() in ("1", "true", "yes")


def cap_steps(steps: int) -> int:
    """`steps`, or fewer in smoke mode."""
    return min(steps, CAPS.max_steps) if active() else steps


def cap_epochs(epochs: float) -> float:
    """`epochs`, or fewer in smoke mode."""
    return min(epochs, CAPS.max_epochs) if active() else epochs


def cap_recipe(recipe: Any) -> Any:
    """A lesson recipe (a dataclass with `epochs`) with its epochs capped in smoke mode."""
    if not active() or not hasattr(recipe, "epochs"):
        return recipe
    return replace(recipe, epochs=cap_epochs(recipe.epochs))


def _first_rows(split: Any, rows: int, group_by: str | None) -> list[int]:
    """The first `rows` row indices; with `group_by`, taken from the groups in turn (SQuAD lists an
    article's questions together, and a lesson that compares documents needs more than one)."""
    if group_by is None:
        return list(range(min(rows, len(split))))
    groups: dict[Any, list[int]] = {}
    for index, value in enumerate(split[group_by]):
        groups.setdefault(value, []).append(index)
    interleaved = [group[turn] for turn in range(max(map(len, groups.values()), default=0))
                   for group in groups.values() if turn < len(group)]
    return sorted(interleaved[:rows])


def _with_every_label(split: Any, rows: int, group_by: str | None) -> list[int]:
    """The first rows (`_first_rows`), plus the first row of each label (class or tag) they lack:
    a cut that drops a class would break label-set code (reports, confusion tables) that the full
    set never breaks, and a smoke run must fail only where the real run would."""
    import datasets

    chosen = _first_rows(split, rows, group_by)
    for column, feature in split.features.items():
        inner = getattr(feature, "feature", feature)  # a tag sequence's ClassLabel, or the column's own
        if not isinstance(inner, datasets.ClassLabel):
            continue
        values = split[column]
        labels = [set(value) if inner is not feature else {value} for value in values]
        missing = set(range(inner.num_classes)).difference(*(labels[i] for i in chosen))
        for index in range(len(split)):
            if not missing:
                break
            if labels[index] & missing:
                chosen.append(index)
                missing -= labels[index]
    return sorted(chosen)


def _first_sentences(split: Any, sentences: int) -> Any:
    """The first documents of a corpus split, each cut to `CAPS.document_sentences`, up to
    `sentences` sentences in all (at least two documents: next-sentence prediction draws its
    negatives from another one)."""
    kept: list[list[str]] = []
    for document in split["sentences"]:
        if sum(map(len, kept)) >= sentences and len(kept) >= 2:
            break
        kept.append(document[:CAPS.document_sentences])
    return split.select(range(len(kept))).map(lambda _, index: {"sentences": kept[index]}, with_indices=True)


def cap_dataset(loaded: Any, corpus: bool, group_by: str | None = None) -> Any:
    """A `datasets.DatasetDict` cut to smoke size (unchanged outside smoke mode): the first rows
    (of each `group_by` group in turn), not a sample, so the same rows on every run and machine,
    plus one row of each label they lack; for a corpus, the first documents up to a number of
    sentences."""
    if not active():
        return loaded
    cut = {}
    for name, split in loaded.items():
        if corpus:
            cut[name] = _first_sentences(split, CAPS.corpus_sentences if name == "train" else CAPS.eval_corpus_sentences)
        else:
            rows = CAPS.train_rows if name == "train" else CAPS.eval_rows
            cut[name] = split.select(_with_every_label(split, rows, group_by))
    return type(loaded)(cut)

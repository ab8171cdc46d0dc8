"""Lesson 05's exercises: labelling every subword (a B- tag becomes I- on a word's later pieces),
and reading IOB2 tags back into entities.

The notebook shows the first-subword alignment (-100 on later pieces) and leaves entity
extraction to seqeval, so neither exercise is a visible cell: the first asks for the other
common alignment, the second for what seqeval does before it counts entities. The reference
solutions are sealed (sealed/*.json).

Room: quiz.
"""

from __future__ import annotations

import numbers
import random
from collections.abc import Mapping
from typing import Any

from bertcourse.quiz.exercises.spec import Call, Exercise, Test, describe

NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]

# ---------------------------------------------------------------------- every-subword alignment

ALIGN_INTRO = """### Exercise: a label on every subword

The alignment above labels only a word's **first** piece. Training scripts often offer the other
choice (a `label_all_tokens` option): label **every** piece of a word. The catch is the `B-` tag: a
word tagged `B-LOC` cut into three pieces must become `B-LOC I-LOC I-LOC`, or the model learns
that one place name is three places. Write this alignment.
"""

ALIGN_STUB = '''def align_labels_every_subword(word_ids, word_labels, names):
    """One label per token, with EVERY subword of a word labelled.

    word_ids: the tokenizer's `encoding.word_ids()`, e.g. [None, 0, 1, 1, 2, None]
              (None for [CLS], [SEP] and padding);
    word_labels: one tag id per word, an index into `names` (e.g. names[5] == "B-LOC");
    names: the tag names, where every "B-X" has its "I-X".
    Special tokens get -100. A word's first piece gets the word's label. Every later piece of
    the word gets the word's label too, except that a B-X label becomes I-X there.
    Return a new list as long as word_ids; do not modify the arguments.
    """
    raise NotImplementedError("write the body of align_labels_every_subword")
'''


def _tag_view(labels: Any) -> Any:
    """Label ids shown as tag names, so a message reads 'B-LOC' rather than 5."""
    if not isinstance(labels, (list, tuple)):
        return labels
    return [NAMES[label] if isinstance(label, int) and 0 <= label < len(NAMES) else label for label in labels]


def _alignment_judge(got: Any, call: Call) -> str | None:
    expected = call.expected
    if not isinstance(got, (list, tuple)):
        return f"expected a list of {len(expected)} label ids, got {describe(got)}."
    got = list(got)
    odd = next((label for label in got if isinstance(label, bool) or not isinstance(label, numbers.Integral)), None)
    if odd is not None:
        return f"expected a list of int label ids, but it holds {describe(odd)}."
    if len(got) != len(expected):
        return (f"expected {len(expected)} labels, one per token (None entries included, as -100), got "
                f"{len(got)}: {_tag_view(got)}.")
    if got == expected:
        return None
    token = next(i for i, (have, want) in enumerate(zip(got, expected)) if have != want)
    return (f"token {token} (word id {call.inputs['word_ids'][token]}) should be "
            f"{_tag_view([expected[token]])[0]}, yours is {_tag_view([got[token]])[0]}. Expected "
            f"{_tag_view(expected)}, got {_tag_view(got)}.")


def _show_alignment(inputs: Mapping[str, Any]) -> str:
    tags = [NAMES[label] for label in inputs["word_labels"]]
    return f"word_ids={inputs['word_ids']}, word tags {tags} (names = the CoNLL tags)"


def _sentence(word_ids: list[int | None], tags: list[str]) -> dict[str, Any]:
    return {"word_ids": list(word_ids), "word_labels": [NAMES.index(tag) for tag in tags], "names": list(NAMES)}


def _random_sentence(seed: int) -> dict[str, Any]:
    """A random tag sequence cut into 1-4 pieces per word, with padding (fixed seed)."""
    rng = random.Random(seed)
    tags: list[str] = []
    for _ in range(rng.randint(6, 12)):
        kind = rng.choice(["PER", "ORG", "LOC", "MISC"])
        roll = rng.random()
        if roll < 0.45:
            tags.append("O")
        elif roll < 0.8 or not tags or tags[-1] == "O":
            tags.append(f"B-{kind}")
        else:
            tags.append(f"I-{tags[-1][2:]}")
    word_ids = [None, *(word for word in range(len(tags)) for _ in range(rng.choice([1, 1, 2, 3, 4]))), None]
    return _sentence(word_ids + [None] * rng.randint(1, 4), tags)


def _alignment_test(name: str, kind: str, word_ids: list[int | None], tags: list[str], hint: str) -> Test:
    return Test(name=name, kind=kind, inputs=lambda: _sentence(word_ids, tags), judge=_alignment_judge,
                hint=hint, show=_show_alignment)


ALIGN = Exercise(
    id="05_align_every_subword",
    anchor="assert align_labels_with_tokens([None, 0, 1, 1, 1, 2, None]",
    intro=ALIGN_INTRO,
    stub=ALIGN_STUB,
    hints=("Start from `align_labels_with_tokens` above: only the branch for a continuation piece changes.",
           "On a continuation piece look up the word's tag name; if it starts with 'B-', use the id of "
           "'I-' + the rest: names.index('I-' + tag[2:])."),
    tests=(
        _alignment_test("fixed: a word tagged B- in three pieces", "fixed", [None, 0, 0, 0, 1, None], ["B-LOC", "O"],
                        "B-LOC, I-LOC, I-LOC: copying B-LOC onto every piece would spell three locations."),
        _alignment_test("fixed: later pieces are labelled, not -100", "fixed", [None, 0, 1, 1, None], ["O", "B-ORG"],
                        "Unlike the lesson's alignment, a word's later pieces carry its tag here (B- turned "
                        "into I-); only special tokens get -100."),
        _alignment_test("fixed: a name of two words in pieces", "fixed", [None, 0, 1, 1, 1, 2, None],
                        ["B-PER", "I-PER", "O"],
                        "Word 1 is already I-PER: all three of its pieces are I-PER."),
        _alignment_test("fixed: O and I- keep their tag on every piece", "fixed", [None, 0, 0, 1, 1, 2, 2, None],
                        ["O", "B-MISC", "I-MISC"], "Only B- changes on later pieces; O stays O, I-X stays I-X."),
        _alignment_test("edge: two entities side by side", "edge", [None, 0, 0, 1, 1, None], ["B-PER", "B-PER"],
                        "Each word starts its own entity: find a word's first piece by comparing word ids, "
                        "not tags."),
        _alignment_test("edge: padding after [SEP]", "edge", [None, 0, 1, None, None, None], ["B-PER", "I-PER"],
                        "Padding has word id None, like [CLS] and [SEP]: -100."),
        _alignment_test("edge: an empty sentence", "edge", [None, None], [],
                        "No words: the two special tokens, both -100."),
        *(Test(name=f"property: random sentence (seed {seed})", kind="property",
               inputs=lambda seed=seed: _random_sentence(seed), judge=_alignment_judge, show=_show_alignment,
               hint="Token by token: None gives -100; a new word id gives the word's tag; the same word "
                    "id again gives the tag with B- turned into I-.")
          for seed in (1, 2, 3)),
    ),
)

# --------------------------------------------------------------------------- IOB2 -> entities

ENTITIES_INTRO = """### Exercise: from tags back to entities

Entity-level scores compare **entities**, not tags, so before it counts anything seqeval reads
every tag sequence back into (type, first word, last word) spans. Write that reading, including what to do with an
`I-X` that continues nothing (a model's predictions contain them even though the data never does).
"""

ENTITIES_STUB = '''def iob2_entities(tags):
    """The entities spelled by a list of IOB2 tags: a list of (type, first, last) tuples in
    order, `first` and `last` word positions, both inclusive.

    ["B-PER", "I-PER", "O", "B-LOC"] -> [("PER", 0, 1), ("LOC", 3, 3)]
    B-X starts an entity of type X. I-X continues the entity just before it if that entity has
    type X; an I-X that continues nothing (at the start, after O, or after an entity of another
    type) starts a new entity of type X, the lenient reading of CoNLL's scorer and seqeval.
    """
    raise NotImplementedError("write the body of iob2_entities")
'''


def _entities_judge(got: Any, call: Call) -> str | None:
    expected = call.expected
    try:
        spans = [(kind, first, last) for kind, first, last in got]
    except (TypeError, ValueError):
        return f"expected a list of (type, first, last) tuples such as ('PER', 0, 1), got {describe(got)}."
    if spans == expected:
        return None
    message = f"expected {expected}, got {spans}."
    if spans == [(kind, first, last + 1) for kind, first, last in expected]:
        message += " Your `last` is one past the entity: it should be the entity's last word (inclusive)."
    return message


def _tags(tags: list[str]) -> dict[str, Any]:
    return {"tags": list(tags)}


def _random_tags(seed: int) -> dict[str, Any]:
    """Tags with stray I-, type changes and adjacent B- (fixed seed)."""
    rng = random.Random(seed)
    choices = ["O", "O", "O", "B-PER", "I-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG"]
    return _tags([rng.choice(choices) for _ in range(20)])


def _show_tags(inputs: Mapping[str, Any]) -> str:
    """Every tag with its position, so a span in the message can be found in the input."""
    return "tags=" + " ".join(f"{position}:{tag}" for position, tag in enumerate(inputs["tags"]))


def _entities_test(name: str, kind: str, tags: list[str], hint: str) -> Test:
    return Test(name=name, kind=kind, inputs=lambda: _tags(tags), judge=_entities_judge, hint=hint, show=_show_tags)


ENTITIES = Exercise(
    id="05_iob2_entities",
    anchor="## 3 · Baselines: how to score NER",
    intro=ENTITIES_INTRO,
    stub=ENTITIES_STUB,
    hints=("Walk the tags once, keeping the entity being built (its type, first and last position).",
           "Close the open entity whenever a tag does not continue it (O, B-anything, or I- of another "
           "type), and once more after the loop."),
    tests=(
        _entities_test("fixed: the docstring's example", "fixed", ["B-PER", "I-PER", "O", "B-LOC"],
                       "PER over words 0-1, then LOC on word 3 alone (first == last)."),
        _entities_test("fixed: B- right after B- of the same type", "fixed", ["B-PER", "B-PER", "I-PER", "O"],
                       "B-X always starts a new entity: two people here, (PER, 0, 0) and (PER, 1, 2)."),
        _entities_test("fixed: I- of another type", "fixed", ["O", "B-PER", "I-LOC", "I-LOC"],
                       "I-LOC cannot continue a PER entity: PER ends at word 1 and LOC spans 2-3."),
        _entities_test("edge: an entity runs to the last word", "edge", ["O", "B-ORG", "I-ORG", "I-ORG"],
                       "After the loop, close the entity still open: (ORG, 1, 3)."),
        _entities_test("edge: a stray I- after O", "edge", ["O", "I-MISC", "I-MISC", "O", "B-LOC"],
                       "An I-X that continues nothing starts an entity (the lenient reading); it is not dropped."),
        _entities_test("edge: a stray I- at the start", "edge", ["I-PER", "O"],
                       "I-PER on word 0 starts a PER entity: (PER, 0, 0)."),
        _entities_test("edge: no entities", "edge", ["O", "O", "O"], "Only O: an empty list."),
        _entities_test("edge: an empty sentence", "edge", [], "No tags: an empty list."),
        *(Test(name=f"property: random tags (seed {seed})", kind="property",
               inputs=lambda seed=seed: _random_tags(seed),
               judge=_entities_judge, show=_show_tags,
               hint="Compare your spans with the expected ones from the left: the first difference shows "
                    "which rule (B- after B-, I- of another type, stray I-, the last entity) is missing.")
          for seed in (1, 2)),
    ),
)

EXERCISES = [ALIGN, ENTITIES]

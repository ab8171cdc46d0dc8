"""bertcourse.sentence_pairs: the hard-case rule and the segment-id edits, on hand-made pairs."""

from __future__ import annotations

import datasets
import pytest

from bertcourse import sentence_pairs as sp


@pytest.mark.parametrize(("first", "second", "kind"), [
    ("Anna reports to Peter.", "Peter reports to Anna.", "same words, new order"),
    ("The rent includes electricity.", "The rent does not include electricity.", "negation"),
    ("The pharmacy is open on Sundays.", "The pharmacy isn't open on Sundays.", "negation"),
    ("The class has 28 students.", "The class has 18 students.", "number"),
    ("The heatwave lasted four days.", "The heatwave lasted fourteen days.", "number"),
    ("The train was packed this morning.", "The train was crowded this morning.", "other"),
    ("It costs 5 pounds.", "The price is 5 pounds.", "other"),                  # the same number
    ("Anna reports to Peter.", "Anna reports to Peter.", "other"),              # identical: no new order
])
def test_hard_case_follows_its_rule(first: str, second: str, kind: str) -> None:
    assert sp.hard_case(first, second) == kind


def test_segment_edits_zero_or_swap_the_ids_and_keep_the_rest() -> None:
    split = datasets.Dataset.from_dict({"input_ids": [[101, 7, 102, 8, 9, 102]],
                                        "token_type_ids": [[0, 0, 0, 1, 1, 1]], "label": [1]})
    zeroed = sp.with_segment_ids(split, "zero")[0]
    swapped = sp.with_segment_ids(split, "swap")[0]
    assert zeroed["token_type_ids"] == [0] * 6 and swapped["token_type_ids"] == [1, 1, 1, 0, 0, 0]
    assert zeroed["input_ids"] == swapped["input_ids"] == split[0]["input_ids"] and swapped["label"] == 1

"""Grading rules and the computed-answer functions, on a small test bank."""

from __future__ import annotations

import pytest
import yaml

from bertcourse.quiz.bank import parse_bank
from bertcourse.quiz.computed import REGISTRY, bert_parameters_millions, token_count
from bertcourse.quiz.grading import InvalidResponse, describe, grade
from bertcourse.tools.quiz_author import hash_entry

SALT = "feedfacefeedfacefeedfacefeedface"
ENTRIES = [
    {"id": "pick", "type": "single", "text": "Pick B", "hint": "h", "explanation": "General words.",
     "choices": [{"id": "a", "text": "A", "explanation": "A is wrong."},
                 {"id": "b", "text": "B", "correct": True, "explanation": "B is right."},
                 {"id": "c", "text": "C"}]},
    {"id": "many", "type": "multiple", "text": "Pick A, B and C", "hint": "h", "explanation": "All three.",
     "choices": [{"id": "a", "text": "A", "correct": True}, {"id": "b", "text": "B", "correct": True},
                 {"id": "c", "text": "C", "correct": True}, {"id": "d", "text": "D", "explanation": "D is a trap."}]},
    {"id": "params", "type": "numeric", "text": "BERT-Large, in millions?", "hint": "h",
     "answer": 340, "tolerance": 10, "step": 1, "unit": "million"},
    {"id": "ratio", "type": "numeric", "text": "Masking rate", "hint": "h", "answer": "0.15",
     "tolerance": "0.005", "step": "0.001"},
    {"id": "percent", "type": "numeric", "text": "Masking rate in %", "hint": "h", "answer": 15,
     "tolerance": 0, "step": 1, "unit": "%"},
    {"id": "word", "type": "text", "text": "Algorithm?", "hint": "h", "answers": ["WordPiece", "Word Piece"]},
    {"id": "token", "type": "text", "text": "Which token? (Type it with its brackets.)", "hint": "h",
     "explanation": "The answer is [MASK].", "answers": ["[MASK]"]},
    {"id": "vocab", "type": "numeric", "text": "Vocabulary size?", "hint": "h", "answer": 30522, "tolerance": 0,
     "step": 1},
    {"id": "small", "type": "numeric", "text": "Hidden size?", "hint": "h", "answer": 1024, "tolerance": 0,
     "step": 1},
    {"id": "layers", "type": "numeric", "text": "Layers of BERT-Base?", "hint": "h", "answer": 12, "tolerance": 0,
     "step": 1, "unit": "layers"},
    {"id": "count", "type": "computed", "text": "Tokens in {sentence}?", "hint": "h",
     "compute": "token_count", "args": {"sentence": "x"}, "tolerance": 0},
    {"id": "size", "type": "computed", "text": "Parameters?", "hint": "h",
     "compute": "bert_parameters_millions", "tolerance": 0.5, "unit": "million"},
]


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    path = tmp_path_factory.mktemp("banks") / "99_grading.yaml"
    path.write_text(yaml.safe_dump({"notebook": "99_grading", "title": "Grading", "salt": SALT,
                                    "questions": [hash_entry(SALT, e) for e in ENTRIES]}))
    return parse_bank(path)


def test_single_choice_verdicts_and_explanations(bank):
    question = bank.question("pick")
    right = grade(question, {"choice": "b"})
    assert (right.correct, right.credit, right.verdict) == (True, 1.0, "✓ Correct.")
    assert right.explanations == ("B is right.", "General words.")
    wrong = grade(question, {"choice": "a"})
    assert (wrong.correct, wrong.credit, wrong.verdict) == (False, 0.0, "✗ Incorrect.")
    assert wrong.explanations == ("A is wrong.",)  # the general explanation would give it away
    with pytest.raises(InvalidResponse, match="choose an option"):
        grade(question, {"choice": None})
    with pytest.raises(InvalidResponse, match="not part of this question"):
        grade(question, {"choice": "z"})


def test_multiple_select_partial_credit_is_shown_but_not_counted(bank):
    question = bank.question("many")
    assert grade(question, {"choices": ["a", "b", "c"]}).verdict.startswith(
        "✓ Correct: you chose all 3 right options and no wrong one")
    partial = grade(question, {"choices": ["a", "b"]})
    assert not partial.correct and partial.credit == pytest.approx(2 / 3)
    assert partial.verdict.startswith("✗ Not quite: 2 of 3 right options chosen, 0 wrong options chosen")
    assert "partial credit 67%" in partial.verdict and "every option is right" in partial.verdict
    mixed = grade(question, {"choices": ["a", "b", "d"]})
    assert mixed.credit == pytest.approx(1 / 3) and "1 wrong option chosen" in mixed.verdict
    assert mixed.explanations == ("D is a trap.",)
    missed = grade(question, {"choices": ["d"]})
    assert missed.credit == 0.0 and "partial credit" not in missed.verdict
    assert missed.verdict == ("✗ Incorrect: 0 of 3 right options chosen, 1 wrong option chosen. "
                              "The question counts only when every option is right.")
    assert grade(question, {"choices": ["a", "b", "c", "d"]}).correct is False
    with pytest.raises(InvalidResponse):
        grade(question, {"choices": []})


@pytest.mark.parametrize(("typed", "correct"), [
    ("340", True), ("330", True), ("350", True), ("349.4", True), ("329", False), ("351", False),
    ("340 million", True), ("1e2", False),
])
def test_numeric_tolerance(bank, typed, correct):
    assert grade(bank.question("params"), {"value": typed}).correct is correct


def test_numeric_fine_grid_and_unit_suffix(bank):
    ratio = bank.question("ratio")
    assert grade(ratio, {"value": ".15"}).correct
    assert grade(ratio, {"value": "0.1549"}).correct
    assert not grade(ratio, {"value": "0.16"}).correct
    verdict = grade(ratio, {"value": "0.2"}).verdict
    assert verdict == "✗ Incorrect: 0.2 is not within ±0.005 of the answer."
    assert grade(bank.question("percent"), {"value": "15%"}).correct
    assert grade(bank.question("percent"), {"value": "14"}).verdict == "✗ Incorrect: 14 is not the answer."
    with pytest.raises(InvalidResponse, match="enter a number"):
        grade(ratio, {"value": "fifteen"})
    with pytest.raises(InvalidResponse, match="type an answer"):
        grade(ratio, {"value": "   "})


def test_short_text_is_case_and_space_insensitive(bank):
    question = bank.question("word")
    for typed in ["wordpiece", " WORDPIECE ", "word   piece", "Word\tPiece"]:
        assert grade(question, {"value": typed}).correct, typed
    wrong = grade(question, {"value": "BPE"})
    assert not wrong.correct and wrong.verdict == "✗ Incorrect: “BPE” is not an accepted answer."
    assert wrong.explanations == ("Short answers are compared word for word, ignoring only capital letters and "
                                  "spaces: check the spelling, or use the hint.",)


def test_a_wrong_short_answer_is_reminded_of_the_form_without_the_answer(bank):
    question = bank.question("token")
    assert grade(question, {"value": "[mask]"}).correct
    wrong = grade(question, {"value": "mask"})
    assert not wrong.correct
    assert wrong.explanations == ("Short answers are compared word for word, ignoring only capital letters and "
                                  "spaces. Check the spelling and the form the question asks for: Type it with "
                                  "its brackets.",)
    assert "[MASK]" not in " ".join(wrong.explanations) + wrong.verdict  # the answer stays hidden


@pytest.mark.parametrize(("qid", "typed", "correct"), [
    ("vocab", "30,522", True), ("vocab", "30522", True), ("vocab", "30.522K", True), ("vocab", "30_522", True),
    ("vocab", "30,521", False), ("vocab", "30K", False), ("vocab", "31K", False), ("vocab", "0.03M", False),
    ("small", "1,024", True), ("small", "1.024K", True), ("small", "1K", False), ("small", "1,000", False),
    ("params", "340M", True), ("params", "340m", True), ("params", "0.34B", True), ("params", "340 million", True),
    ("params", "340,000K", True), ("params", "340K", False), ("params", "340B", False), ("params", "3B", False),
    ("params", "340,000,000", True), ("params", "340000000", True), ("params", "300,000,000", False),
    ("params", "340,000,000 million", False),  # a full count is read as one, unless the unit is typed after it
    ("layers", "12 Layers", True), ("layers", "12 LAYERS", True), ("layers", "12layers", True),
    ("percent", "15%", True), ("percent", "0.015K", True), ("percent", "15K", False),
])
def test_numbers_in_the_forms_the_notebooks_print(bank, qid, typed, correct):
    assert grade(bank.question(qid), {"value": typed}).correct is correct


def test_a_full_count_for_a_question_in_millions_says_how_it_was_read(bank):
    """Issue 29: "340,000,000 is not within ±10 million" marked a right full count wrong."""
    params = bank.question("params")
    assert grade(params, {"value": "340,000,000"}).verdict == (
        "✓ Correct: this asks in millions: 340,000,000 is 340.")
    assert grade(params, {"value": "300,000,000"}).verdict == (
        "✗ Incorrect: this asks in millions: 300,000,000 is 300, which is not within ±10 million of the answer.")
    size = bank.question("size")  # notebook 02's computed count, typed exactly
    assert grade(size, {"value": "22,713,216"}, expected=22.713216).verdict == (
        "✓ Correct: this asks in millions: 22,713,216 is 22.713216; your notebook computes 22.71.")


@pytest.mark.parametrize(("typed", "echoed"), [("1e3", "1e3"), ("1,000", "1,000"), ("1.0K", "1.0K"),
                                               ("0.50", "0.50"), ("  7 ", "7")])
def test_a_wrong_number_is_echoed_as_typed(bank, typed, echoed):
    assert grade(bank.question("vocab"), {"value": typed}).verdict == f"✗ Incorrect: {echoed} is not the answer."


@pytest.mark.parametrize("typed", ["1,5", "30,52", "3,0522", "1e3K", "K", "12 apples", "340MB"])
def test_ambiguous_or_malformed_numbers_are_refused_and_the_forms_named(bank, typed):
    with pytest.raises(InvalidResponse) as refused:
        grade(bank.question("vocab"), {"value": typed})
    message = str(refused.value)
    assert "30,522" in message and "340M" in message and "K, M and B mean thousand, million and billion" in message


def test_computed_questions_grade_against_the_live_value(bank):
    question = bank.question("size")
    assert grade(question, {"value": "109.5"}, expected=109.48224).correct
    assert grade(question, {"value": "109"}, expected=109.48224).correct
    assert not grade(question, {"value": "110"}, expected=109.48224).correct
    assert "your notebook computes 109.5" in grade(question, {"value": "109.5"}, expected=109.48224).verdict
    exact = bank.question("count")
    assert grade(exact, {"value": "14"}, expected=14.0).verdict == "✓ Correct: your notebook computes 14."
    assert not grade(exact, {"value": "13"}, expected=14.0).correct
    with pytest.raises(InvalidResponse, match="computed"):
        grade(exact, {"value": "14"})


@pytest.mark.parametrize("typed", ["1e4301", "-1e5000", "1e999999", "9" * 5000, "1e-999999", "1e1000000",
                                   "-1e1000000", "1e999999999999999999", "9" * 1_000_001 + "M"])
@pytest.mark.parametrize("question", ["params", "ratio", "size"])
def test_out_of_range_numbers_are_simply_wrong(bank, question, typed):
    """Issue 15, item 5: 1e4301 made the grid index too long to turn into a key (ValueError)
    and 1e999999 cost about a minute of CPU first; such numbers are wrong answers. Issue 28,
    item 4: one past Decimal's default limit (1e1000000) raised a raw decimal.Overflow."""
    result = grade(bank.question(question), {"value": typed}, expected=335.14)
    assert not result.correct and result.verdict.startswith("✗ Incorrect")


def test_describe_uses_choice_texts_in_a_stable_order(bank):
    described = describe(bank.question("many"), {"choices": ["d", "a"]})
    assert sorted(described.split("; ")) == ["A", "D"]
    assert describe(bank.question("many"), {"choices": ["a", "d"]}) == described
    assert describe(bank.question("word"), {"value": " bpe "}) == "bpe"


# -- computed-answer functions ---------------------------------------------------------------

def test_registry_knows_what_each_function_needs():
    assert REGISTRY["token_count"].needs == ("tokenizer",)
    assert REGISTRY["token_count"].arguments == {"sentence"}
    assert REGISTRY["bert_parameters_millions"].needs == ("config",)


def test_token_count_with_a_real_wordpiece_tokenizer():
    from transformers import BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "token", "##izer", "##s", "split", "un",
             "##believ", "##ably", "long", "words", "into", "pieces", "."]
    tokenizer = BertTokenizer(vocab={piece: i for i, piece in enumerate(vocab)}, do_lower_case=True)
    sentence = "Tokenizers split unbelievably long words into pieces."
    # [CLS] token ##izer ##s split un ##believ ##ably long words into pieces . [SEP]
    assert token_count(tokenizer, sentence=sentence) == 14
    assert token_count(tokenizer, sentence="Unknown") == 3  # [CLS] [UNK] [SEP]


@pytest.mark.parametrize("sizes", [
    dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
         max_position_embeddings=40, type_vocab_size=2),
    dict(vocab_size=57, hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=48,
         max_position_embeddings=20, type_vocab_size=3),
])
def test_parameter_count_matches_a_real_bert_model(sizes):
    from transformers import BertConfig, BertModel

    config = BertConfig(**sizes)
    actual = sum(p.numel() for p in BertModel(config).parameters())
    assert bert_parameters_millions(config) * 1e6 == pytest.approx(actual, abs=0.5)


def test_parameter_count_of_bert_base_and_large():
    from transformers import BertConfig

    assert bert_parameters_millions(BertConfig()) == pytest.approx(109.48224)  # 109,482,240
    large = BertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)
    assert bert_parameters_millions(large) == pytest.approx(335.141888)

"""Bank files: hashing, sealing, schema validation errors, and the authoring tool."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from bertcourse.course.errors import CourseError
from bertcourse.quiz import keys
from bertcourse.quiz.bank import QuizBankError, load_bank, parse_bank
from bertcourse.tools.cli import main as bertcourse_command
from bertcourse.tools.quiz_author import AuthoringError, add_entries, hash_entry

SALT = "00112233445566778899aabbccddeeff"

SINGLE = {"id": "cls", "type": "single", "text": "Which token starts every input?", "hint": "Classify.",
          "explanation": "It is [CLS].",
          "choices": [{"text": "[CLS]", "correct": True, "explanation": "Yes, [CLS] opens it."},
                      {"text": "[SEP]", "explanation": "No, [SEP] closes segments."}]}
NUMERIC = {"id": "layers", "type": "numeric", "text": "Layers in BERT-Base?", "hint": "A dozen.",
           "answer": 12, "tolerance": 0, "step": 1}
TEXT = {"id": "algo", "type": "text", "text": "Subword algorithm?", "hint": "Pieces.",
        "answers": ["WordPiece"]}
COMPUTED = {"id": "count", "type": "computed", "text": "Tokens in \"{sentence}\"?", "hint": "Count.",
            "compute": "token_count", "args": {"sentence": "hi there"}, "tolerance": 0}


def write_bank(folder: Path, questions: list[dict], notebook: str = "99_test") -> Path:
    path = folder / f"{notebook}.yaml"
    path.write_text(yaml.safe_dump({"notebook": notebook, "title": "Test", "salt": SALT,
                                    "questions": questions}), encoding="utf-8")
    return path


def hashed(*entries: dict) -> list[dict]:
    return [hash_entry(SALT, entry) for entry in entries]


# -- keys ------------------------------------------------------------------------------------

def test_text_normalisation_ignores_case_and_spacing():
    assert keys.text_key(SALT, "q", "  Word\tPiece ") == keys.text_key(SALT, "q", "word piece")
    assert keys.text_key(SALT, "q", "wordpiece") != keys.text_key(SALT, "q", "word piece")


def test_keys_depend_on_salt_and_question():
    assert keys.answer_key(SALT, "q1", "x") != keys.answer_key(SALT, "q2", "x")
    assert keys.answer_key(SALT, "q1", "x") != keys.answer_key("ff" * 16, "q1", "x")


def test_seal_round_trip_and_wrong_place_fails():
    sealed = keys.seal(SALT, "q", "a", "Base has 12 layers.")
    assert "12" not in sealed and sealed.startswith(keys.SEALED_PREFIX)
    assert keys.unseal(SALT, "q", "a", sealed) == "Base has 12 layers."
    with pytest.raises(ValueError):
        keys.unseal(SALT, "q", "b", keys.seal(SALT, "q", "a", "é" * 40))
    with pytest.raises(ValueError):
        keys.unseal(SALT, "q", "a", "Base has 12 layers.")


def test_answers_beyond_the_graded_range_are_refused_when_authoring():
    entry = {"id": "far", "type": "numeric", "text": "t", "hint": "h", "answer": "1" + "0" * 20, "tolerance": 0, "step": 1}
    with pytest.raises(AuthoringError, match="beyond what grading accepts"):
        hash_entry("00" * 16, entry)


@pytest.mark.parametrize(("answer", "tolerance", "step", "expected"), [
    ("12", "0", "1", range(12, 13)),
    ("340", "10", "1", range(330, 351)),
    ("0.15", "0.01", "0.01", range(14, 17)),
    ("-2", "0.5", "0.5", range(-5, -2)),
])
def test_grid_range_is_inclusive(answer, tolerance, step, expected):
    assert keys.grid_range(Decimal(answer), Decimal(tolerance), Decimal(step)) == expected


def test_parse_number_accepts_common_forms_only():
    assert keys.parse_number(" 1_000 ") == 1000
    assert keys.parse_number("1e3") == 1000
    assert keys.parse_number("0.5") == Decimal("0.5")
    for bad in ["", "twelve", "nan", "inf", "1,5", "12,34", "1,2345", ",123", "1e3K", "M", "1.2.3K", "12KB"]:
        assert keys.parse_number(bad) is None, bad


@pytest.mark.parametrize(("typed", "value"), [
    ("30,522", "30522"), ("1,024", "1024"), ("-1,234,567.5", "-1234567.5"), ("340M", "340000000"),
    ("1.2K", "1200"), ("1.2 k", "1200"), ("3B", "3000000000"), ("3b", "3000000000"), (".5M", "500000"),
    ("30,522M", "30522000000"),
])
def test_parse_number_accepts_separators_and_suffixes(typed, value):
    assert keys.parse_number(typed) == Decimal(value)


# -- loading and validation -------------------------------------------------------------------

def test_valid_bank_loads_with_hashed_answers_only(tmp_path):
    path = write_bank(tmp_path, hashed(SINGLE, NUMERIC, TEXT, COMPUTED))
    bank = parse_bank(path)
    assert [q.id for q in bank.questions] == ["cls", "layers", "algo", "count"]
    raw = path.read_text()
    for plain in ["WordPiece", "It is [CLS]", "Yes, [CLS] opens it", "correct", "answer"]:
        assert plain not in raw
    cls = bank.question("cls")
    assert [c.text for c in cls.choices if cls.is_correct_choice(c)] == ["[CLS]"]
    assert cls.explanation_of() == "It is [CLS]."
    assert bank.question("count").display_text == 'Tokens in "hi there"?'


def assert_bank_error(path: Path, *fragments: str) -> None:
    with pytest.raises(QuizBankError) as caught:
        parse_bank(path)
    message = str(caught.value)
    assert path.name in message
    for fragment in fragments:
        assert fragment in message, message
    # IPython prints only this line, never a traceback
    assert caught.value._render_traceback_() == [f"QuizBankError: {message}"]


def test_missing_field_names_file_and_question(tmp_path):
    question = hashed(SINGLE)[0]
    del question["hint"]
    assert_bank_error(write_bank(tmp_path, [question]), "question 'cls'", "must contain ['hint'] properties")


def test_unknown_field_is_rejected(tmp_path):
    question = hashed(NUMERIC)[0] | {"answer": 12}
    assert_bank_error(write_bank(tmp_path, [question]), "question 'layers'", "must not contain {'answer'} properties")


def test_wrong_type_and_bad_key_are_located(tmp_path):
    question = hashed(SINGLE)[0]
    question["choices"][1]["key"] = "not-a-key"
    assert_bank_error(write_bank(tmp_path, [question]), "question 'cls'", "choices[1].key")


def test_tampered_key_is_detected(tmp_path):
    question = hashed(SINGLE)[0]
    question["choices"][0]["key"] = "0" * keys.KEY_HEX_CHARS
    assert_bank_error(write_bank(tmp_path, [question]), "question 'cls'", "matches neither")


def test_single_choice_needs_exactly_one_correct(tmp_path):
    two = SINGLE | {"choices": [{"text": "x", "correct": True}, {"text": "y", "correct": True}]}
    assert_bank_error(write_bank(tmp_path, hashed(two)), "exactly one correct choice, this one has 2")


def test_duplicate_question_ids(tmp_path):
    assert_bank_error(write_bank(tmp_path, hashed(TEXT, TEXT)), "question 'algo'", "more than one question")


def test_hand_written_explanation_is_rejected(tmp_path):
    question = hashed(TEXT)[0] | {"explanation": "sealed:" + "QUJD"}
    assert_bank_error(write_bank(tmp_path, [question]), "question 'algo'", "not sealed for this question")
    question = hashed(TEXT)[0] | {"explanation": "The answer is WordPiece"}
    assert_bank_error(write_bank(tmp_path, [question]), "question 'algo'", "explanation")


def test_unknown_compute_function_and_bad_args(tmp_path):
    assert_bank_error(write_bank(tmp_path, hashed(COMPUTED | {"compute": "nope"})), "'nope' is not a function")
    assert_bank_error(write_bank(tmp_path, hashed(COMPUTED | {"args": {"text": "x"}})),
                      "args must be exactly the arguments of token_count (sentence)")


def test_question_without_id_is_named_by_position(tmp_path):
    question = hashed(TEXT)[0]
    del question["id"]
    assert_bank_error(write_bank(tmp_path, [hashed(SINGLE)[0], question]), "question '#2'", "['id']")


def test_invalid_yaml_names_line(tmp_path):
    path = tmp_path / "99_test.yaml"
    path.write_text("notebook: 99_test\nquestions: [\n  - oops: {\n")
    assert_bank_error(path, "not valid YAML (line")


def test_notebook_field_must_match_file_name(tmp_path):
    path = write_bank(tmp_path, hashed(TEXT))
    renamed = path.rename(tmp_path / "98_other.yaml")
    assert_bank_error(renamed, "does not match the file name")


def test_unknown_and_malicious_notebook_ids(tmp_path):
    write_bank(tmp_path, hashed(TEXT))
    with pytest.raises(QuizBankError, match="(?s)no quiz bank for notebook '07_nope'.*99_test"):
        load_bank("07_nope", tmp_path)
    with pytest.raises(QuizBankError, match="not a notebook id"):
        load_bank("../secrets", tmp_path)


def test_json_bank_is_accepted(tmp_path):
    path = tmp_path / "99_json.json"
    import json
    path.write_text(json.dumps({"notebook": "99_json", "title": "J", "salt": SALT, "questions": hashed(TEXT)}))
    assert load_bank("99_json", tmp_path).question("algo").type == "text"


# -- authoring tool ---------------------------------------------------------------------------

def test_author_creates_appends_and_replaces(tmp_path, capsys):
    entries = tmp_path / "entries.yaml"
    entries.write_text(yaml.safe_dump([SINGLE, NUMERIC]))
    assert bertcourse_command(["dev", "add-questions", str(entries), "--bank", "42_new", "--title", "New",
                               "--banks-dir", str(tmp_path)]) == 0
    assert "42_new.yaml: 2 questions" in capsys.readouterr().out
    bank = load_bank("42_new", tmp_path)
    assert len(bank.salt) == 32 and bank.title == "New"

    more = tmp_path / "more.yaml"
    more.write_text(yaml.safe_dump([TEXT]))
    add_entries(more, "42_new", banks_dir=tmp_path)
    assert [q.id for q in load_bank("42_new", tmp_path).questions] == ["cls", "layers", "algo"]

    assert bertcourse_command(["dev", "add-questions", str(more), "--bank", "42_new", "--banks-dir", str(tmp_path)]) == 2
    assert "already in 42_new.yaml" in capsys.readouterr().err

    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump([NUMERIC | {"answer": 24}]))
    add_entries(changed, "42_new", replace=True, banks_dir=tmp_path)
    layers = load_bank("42_new", tmp_path).question("layers")
    assert keys.numeric_key(bank.salt, "layers", 24) in layers.accept
    assert keys.numeric_key(bank.salt, "layers", 12) not in layers.accept


def test_author_rejects_bad_entries_without_touching_bank(tmp_path):
    entries = tmp_path / "entries.yaml"
    entries.write_text(yaml.safe_dump([TEXT]))
    add_entries(entries, "42_new", title="New", banks_dir=tmp_path)
    before = (tmp_path / "42_new.yaml").read_text()
    cases = [
        ([SINGLE | {"id": "two", "choices": [{"text": "a", "correct": True}, {"text": "b", "correct": True}]}],
         "exactly one correct"),
        ([NUMERIC | {"id": "wide", "tolerance": 100000, "step": 1}], "covers 200001 grid points"),
        ([NUMERIC | {"id": "off", "answer": "0.15", "tolerance": 0, "step": "0.1"}], "covers 0 grid points"),
        ([{"id": "x", "type": "essay"}], "type must be one of"),
        ([TEXT | {"id": "noanswers", "answers": []}], "answers"),
    ]
    for bad, message in cases:
        entries.write_text(yaml.safe_dump(bad))
        with pytest.raises(CourseError, match=message):
            add_entries(entries, "42_new", banks_dir=tmp_path)
        assert (tmp_path / "42_new.yaml").read_text() == before


def test_author_shuffles_choice_order_in_the_bank():
    ten = SINGLE | {"choices": [{"text": f"option {i}", "correct": i == 0} for i in range(10)]}
    positions = set()
    for _ in range(20):
        choices = hash_entry(SALT, ten)["choices"]
        positions.add(next(i for i, c in enumerate(choices) if c["text"] == "option 0"))
    assert len(positions) > 1  # 20 draws all landing on one of 10 places: chance 1e-19


def test_author_needs_title_for_new_bank(tmp_path):
    entries = tmp_path / "entries.yaml"
    entries.write_text(yaml.safe_dump([TEXT]))
    with pytest.raises(AuthoringError, match="Give --title"):
        add_entries(entries, "43_none", banks_dir=tmp_path)

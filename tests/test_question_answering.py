"""Extractive QA: span labels, post-processing and SQuAD metrics on hand-computed cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bertcourse import question_answering as qa
from bertcourse.course import formats
from bertcourse.course.errors import DataFormatError

# A window "[CLS] q q [SEP] c c c c [SEP]": tokens 4..7 are context, covering characters
# 0-5, 6-11, 12-17, 18-23 of "alpha bravo charl delta".
SEQUENCE_IDS = [None, 0, 0, None, 1, 1, 1, 1, None]
OFFSETS = [(0, 0), (0, 3), (4, 7), (0, 0), (0, 5), (6, 11), (12, 17), (18, 23), (0, 0)]


@pytest.mark.parametrize(("start_char", "end_char", "expected"), [
    (6, 11, (5, 5)),      # exactly one token
    (6, 17, (5, 6)),      # two tokens
    (8, 14, (5, 6)),      # starts and ends inside tokens: the tokens holding those characters
    (0, 23, (4, 7)),      # the whole context
    (18, 30, (0, 0)),     # runs past the window's last character: cut by the edge -> [CLS]
    (40, 45, (0, 0)),     # entirely outside the window -> [CLS]
])
def test_answer_token_span_by_hand(start_char: int, end_char: int, expected: tuple[int, int]) -> None:
    assert qa.answer_token_span(OFFSETS, SEQUENCE_IDS, start_char, end_char) == expected


def test_answer_cut_by_a_window_edge_is_labelled_cls_there_and_found_whole_in_the_next_window() -> None:
    """With the real tokenizer: short windows over a long context; the window that cuts the
    answer points at [CLS], a later window (thanks to the stride) holds it whole and its label
    decodes back to the answer."""
    from bertcourse.course.resources import load_tokenizer

    tokenizer = load_tokenizer("bert-base-uncased")
    context = ("The first lighthouse stood on a rock. Keepers trimmed the wicks every night. "
               "Ships passed safely beside the great stone tower of the harbour mouth.")
    answer = "the great stone tower of the harbour mouth"
    start_char = context.index(answer)
    batch = {"question": ["What did ships pass?"], "context": [context],
             "answers": [{"text": [answer], "answer_start": [start_char]}]}
    features = qa.prepare_train_features(batch, tokenizer, max_length=24, stride=8)
    spans = list(zip(features["start_positions"], features["end_positions"], strict=True))
    encoded = qa.encode_windows(tokenizer, batch["question"], batch["context"], 24, 8)
    cut = [i for i in range(len(spans)) if spans[i] == (0, 0)
           and start_char < qa.Window(np.zeros(1), np.zeros(1), [tuple(o) if s == 1 else None for o, s in zip(
               encoded["offset_mapping"][i], encoded.sequence_ids(i), strict=True)]).context_chars()[1] < start_char + len(answer)]
    assert cut, "expected a window whose edge cuts the answer"
    whole = [i for i, span in enumerate(spans) if span != (0, 0)]
    assert whole and all(i > cut[0] for i in whole)
    start, end = spans[whole[0]]
    assert tokenizer.decode(features["input_ids"][whole[0]][start:end + 1]) == answer


def _window(start_logits: list[float], end_logits: list[float], offsets: list) -> qa.Window:
    return qa.Window(np.array(start_logits), np.array(end_logits), offsets)


def test_best_answer_respects_order_length_and_context() -> None:
    context = "alpha bravo charl delta"
    offsets = [None, None, (0, 5), (6, 11), (12, 17), (18, 23)]
    # Highest raw start is a question token (1), highest raw end comes before the best start:
    # both must be skipped; best valid pair is start 3 ("bravo") .. end 4 ("charl"): 4 + 3 = 7.
    window = _window([1, 9, 0, 4, 0, 0], [1, 0, 6, 1, 3, 0], offsets)
    answer = qa.best_answer([window], context, max_answer_length=30, n_best=6)
    assert (answer.text, answer.start_char, answer.score, answer.null_score) == ("bravo charl", 6, 7.0, 2.0)
    # A length cap of 1 token leaves only single-token spans: start 3 + end 3 = 5 beats 2 + 2 = 6? no: 0 + 6 = 6.
    capped = qa.best_answer([window], context, max_answer_length=1, n_best=6)
    assert (capped.text, capped.score) == ("alpha", 6.0)


def test_best_answer_takes_the_best_window_and_the_lowest_null_score() -> None:
    context = "alpha bravo charl delta"
    first = _window([5, 0, 1], [5, 1, 0], [None, (0, 5), (6, 11)])
    second = _window([2, 3, 0], [1, 0, 4], [None, (6, 11), (12, 17)])
    answer = qa.best_answer([first, second], context, n_best=3)
    assert (answer.text, answer.window, answer.score) == ("bravo charl", 1, 7.0)
    assert answer.null_score == 3.0  # min over windows of start[0] + end[0]: 10 and 3


@pytest.mark.parametrize(("text", "normalised"), [
    ("The Rhine.", "rhine"),
    ("  an  Apple,  a day ", "apple day"),
    ("Theatre", "theatre"),           # "the" inside a word stays
    ("North-Carolina's", "northcarolinas"),
])
def test_normalize_answer(text: str, normalised: str) -> None:
    assert qa.normalize_answer(text) == normalised


def test_exact_match_and_f1_by_hand() -> None:
    assert qa.exact_match("the Wright brothers", ["Wright brothers", "Orville"]) == 1.0
    assert qa.exact_match("Wright", ["Wright brothers"]) == 0.0
    # "in 1903" vs "1903": common 1, precision 1/2, recall 1 -> F1 2/3
    assert qa.token_f1("in 1903", ["1903"]) == pytest.approx(2 / 3)
    # best over gold answers: vs "North Carolina" common 1 of 2 and 2 -> 0.5; vs "Carolina" 2/3
    assert qa.token_f1("Carolina coast", ["North Carolina", "Carolina"]) == pytest.approx(2 / 3)
    assert qa.token_f1("", ["1903"]) == 0.0
    assert qa.token_f1("the", ["a"]) == 1.0  # both normalise to empty
    scores = qa.squad_scores(["1903", "in 1903", "Paris"], [["1903"], ["1903"], ["London"]])
    assert scores["exact_match"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3 + 0) / 3)


@pytest.mark.parametrize(("question", "kind"), [
    ("How many blades do most turbines have?", "how many / much"),
    ("In what year was it founded?", "when"),
    ("Whose probes landed there?", "who"),
    ("How is the flute held?", "how"),
    ("Name three jazz musicians.", "other"),
])
def test_question_type(question: str, kind: str) -> None:
    assert qa.question_type(question) == kind


def test_lexical_baseline_picks_the_unmentioned_words_of_the_best_sentence() -> None:
    context = ("Owls hunt at night. Volleyball was invented in 1895 by a teacher in Massachusetts. "
               "It is played with a net.")
    assert qa.lexical_answer("Who invented volleyball in 1895?", context) == "teacher in Massachusetts"
    assert qa.lexical_answer("When was volleyball invented by a teacher in Massachusetts?", context) == "1895"


def test_window_situation() -> None:
    one = [_window([0], [0], [(0, 10)])]
    two = [_window([0, 0], [0, 0], [(0, 5), (6, 10)]), _window([0, 0], [0, 0], [(6, 10), (11, 20)])]
    assert qa.window_situation(one, 2, 4) == "one window"
    assert qa.window_situation(two, 6, 10) == "several windows, never cut"
    assert qa.window_situation(two, 8, 15) == "cut by an edge in some window"


def test_read_squad_rejects_an_answer_not_at_its_offset(tmp_path: Path) -> None:
    row = {"id": "1", "title": "t", "context": "Bread is baked.", "question": "What is baked?",
           "answers": {"text": ["Bread"], "answer_start": [0]}}
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(row) + "\n")
    assert formats.read_squad(good)[0]["answers"] == {"text": ["Bread"], "answer_start": [0]}
    row["answers"]["answer_start"] = [1]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataFormatError, match="not at character 1"):
        formats.read_squad(bad)


@pytest.mark.usefixtures("fresh_profile")
def test_squad_loads_in_both_profiles(monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> None:
    """laptop: the course's own questions; gpu: a local copy in the hub's squad schema (the real
    SQuAD v1.1 dev set split by article, in ../shared/data/squad_v1.1_dev)."""
    import bertcourse as bc

    monkeypatch.setenv("BERTCOURSE_PROFILE", "laptop")
    laptop = bc.load_dataset("squad")
    assert set(laptop) == {"train", "validation", "test"} and len(laptop["train"]) >= 150
    monkeypatch.setenv("BERTCOURSE_PROFILE", "gpu")
    monkeypatch.setenv("BERTCOURSE_DATA_DIR", str(shared_data))
    real = bc.load_dataset("squad")
    # the source has train (38 articles) and validation (10): validation becomes test, and train's last
    # whole articles (at least a tenth of its questions) become validation
    assert len(real["train"]) + len(real["validation"]) == 8582 and len(real["test"]) == 1988
    assert len(real["validation"]) >= 8582 / 10
    assert not set(real["train"]["title"]) & set(real["validation"]["title"])
    first = real["train"][0]
    with (shared_data / "squad_v1.1_dev" / "train.jsonl").open(encoding="utf-8") as handle:
        assert first["question"] == json.loads(handle.readline())["question"]   # rows keep the file's order
    assert set(first) == set(laptop["train"][0]) == {"id", "title", "context", "question", "answers"}
    assert first["context"][first["answers"]["answer_start"][0]:].startswith(first["answers"]["text"][0])


def test_load_drills_joins_the_course_train_split() -> None:
    """The drills come with the train split's features, so `concatenate_datasets` adds them to it (mismatched
    features raise), and every answer sits at its offset."""
    from datasets import concatenate_datasets

    from bertcourse.course import resources

    train = resources.load_folder(qa.shipped_data_dir() / "qa", kind="question_answering")["train"]
    drills = qa.load_drills(train.features)
    joined = concatenate_datasets([train, drills])
    assert len(joined) == len(train) + len(drills) and len(drills) >= 100
    for row in drills:
        start, text = row["answers"]["answer_start"][0], row["answers"]["text"][0]
        assert row["context"][start:start + len(text)] == text


def test_a_smoke_run_cuts_the_drills_like_any_training_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """Notebook 08 adds the drills to whatever train split the profile serves; in a smoke run that split is cut
    to a few rows, and 266 uncut drills would make the smoke run's QA training several times longer."""
    from bertcourse.course import resources, smoke

    train = resources.load_folder(qa.shipped_data_dir() / "qa", kind="question_answering")["train"]
    monkeypatch.setenv(smoke.ENV, "1")
    cut = qa.load_drills(train.features)
    monkeypatch.delenv(smoke.ENV)
    whole = qa.load_drills(train.features)
    assert len(cut) == smoke.CAPS.train_rows < len(whole)
    assert cut["id"] == whole["id"][:len(cut)]   # the first drills, the same on every run


def test_laptop_qa_recipe_batches_windows_of_similar_length(tmp_path: Path) -> None:
    """Notebook 08 trains on the drills too, whose windows are far shorter than the corpus windows; random
    batches would pad each drill to the longest corpus window beside it (268 s of training against 206 s,
    benchmarks/results_payoff.md), so the laptop recipe groups batches by length."""
    from bertcourse import training

    arguments = training.training_arguments(qa.MINILM_QA_RECIPE, tmp_path, eval_strategy="no")
    assert arguments.train_sampling_strategy == "group_by_length"

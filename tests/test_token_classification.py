"""Label alignment, entity-level scoring, error analysis and word-level prediction for NER (notebooks 05, 06)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForTokenClassification, EvalPrediction

import bertcourse as bc
from bertcourse import intervals
from bertcourse import token_classification as tc
from bertcourse.course.registry import MINILM

NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


@pytest.fixture(scope="module")
def tokenizer():
    return bc.load_tokenizer("bert-base-cased")


def test_alignment_labels_first_subword_only():
    word_ids = [None, 0, 1, 1, 1, 2, None, None]          # word 1 has three pieces; two specials/padding at the end
    assert tc.align_labels_with_tokens(word_ids, [3, 5, 0]) == [-100, 3, 5, -100, -100, 0, -100, -100]


def test_alignment_of_a_word_repeated_after_special_token():
    # a second sequence restarting at word 0 after [SEP] still labels its first piece
    assert tc.align_labels_with_tokens([None, 0, None, 0, 0], [7]) == [-100, 7, -100, 7, -100]


def test_tokenize_and_align_labels_gives_each_word_exactly_one_label(tokenizer):
    batch = {"tokens": [["Ada", "Lovelace", "met", "Babbage", "in", "Marylebone", "."], ["glomerulonephritis"]],
             "ner_tags": [[1, 2, 0, 1, 0, 5, 0], [7]]}
    encoded = tc.tokenize_and_align_labels(batch, tokenizer, max_length=64)
    for row, (words, tags) in enumerate(zip(batch["tokens"], batch["ner_tags"], strict=True)):
        labels = encoded["labels"][row]
        assert len(labels) == len(encoded["input_ids"][row])
        assert [label for label in labels if label != -100] == tags
        assert labels[0] == labels[-1] == -100
    assert len(encoded["input_ids"][1]) > 3          # the long word really was split


def test_truncation_drops_labels_of_cut_words(tokenizer):
    batch = {"tokens": [["word"] * 20], "ner_tags": [[0] * 20]}
    encoded = tc.tokenize_and_align_labels(batch, tokenizer, max_length=8)
    assert sum(label != -100 for label in encoded["labels"][0]) == 6


def test_entity_scores_follow_conll_rules():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    assert tc.entity_scores(gold, gold) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert tc.entity_scores(gold, [["O"] * 4])["f1"] == 0.0
    boundary = tc.entity_scores(gold, [["B-PER", "O", "O", "B-LOC"]])      # "Ada" instead of "Ada Lovelace"
    assert boundary["precision"] == pytest.approx(0.5) and boundary["recall"] == pytest.approx(0.5)


def test_token_accuracy_is_flattering_for_all_o():
    gold = [["O", "O", "O", "B-PER", "O"]]
    assert tc.token_accuracy(gold, [["O"] * 5]) == pytest.approx(0.8)


def test_entity_report_has_types_and_micro_average():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
    report = tc.entity_report(gold, predicted)
    assert list(report.columns) == ["precision", "recall", "f1", "support"]
    assert report.loc["PER", "f1"] == 1.0 and report.loc["LOC", "recall"] == 0.0
    assert report.loc["all (micro)", "support"] == 3
    assert report.loc["all (micro)", "f1"] == pytest.approx(0.67)


def test_ner_metrics_reads_only_labelled_positions():
    labels = np.array([[-100, 1, 2, -100, 0, -100]])
    logits = np.full((1, 6, len(NAMES)), -5.0)
    for position, tag in enumerate([5, 1, 2, 5, 0, 5]):     # wrong tags only where the label is -100
        logits[0, position, tag] = 5.0
    metrics = tc.ner_metrics(NAMES)(EvalPrediction(predictions=logits, label_ids=labels))
    assert metrics["f1"] == 1.0 and metrics["token_accuracy"] == 1.0


def test_entity_confusion_diagonal_is_what_seqeval_counts():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG", "B-MISC", "O"]]
    table = tc.entity_confusion(gold, predicted, ["PER", "ORG", "LOC", "MISC"])
    assert table.loc["PER", "PER"] == 1
    assert table.loc["LOC", "ORG"] == 1                  # right span, wrong type
    assert table.loc["ORG", "(none)"] == 1               # missed
    assert table.loc["(none)", "MISC"] == 1              # spurious
    assert table.to_numpy().sum() == 4
    correct = np.trace(table.loc[["PER", "ORG", "LOC", "MISC"], ["PER", "ORG", "LOC", "MISC"]].to_numpy())
    assert correct == round(tc.entity_scores(gold, predicted)["recall"] * 3)


def test_entity_errors_are_classified():
    words = ["Ada", "Lovelace", "visited", "New", "York", "and", "Paris", "with", "Babbage"]
    gold = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "B-LOC", "O", "B-PER"]
    predicted = ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "B-ORG", "O", "O"]
    errors = tc.entity_errors([words], [gold], [predicted])
    kinds = {error.kind: error for error in errors}
    assert set(kinds) == {"wrong boundary", "wrong type", "missed", "spurious"}
    assert kinds["wrong boundary"].gold == "New York (LOC)" and kinds["wrong boundary"].predicted == "New (LOC)"
    assert kinds["wrong type"].predicted == "Paris (ORG)"
    assert kinds["missed"].gold == "Babbage (PER)" and kinds["missed"].predicted == ""
    assert kinds["spurious"].predicted == "and (ORG)"


def test_lexicon_baseline_prefers_longest_match_and_most_frequent_type():
    train = [["New", "York", "is", "big"], ["York", "won"], ["York", "lost"], ["York", "is", "old"]]
    tags = [["B-LOC", "I-LOC", "O", "O"], ["B-ORG", "O"], ["B-ORG", "O"], ["B-LOC", "O", "O"]]
    tagged = tc.lexicon_baseline(train, tags, [["I", "love", "New", "York", "and", "York"]])
    assert tagged == [["O", "O", "B-LOC", "I-LOC", "O", "B-ORG"]]


def test_predict_word_tags_returns_one_tag_per_word(tokenizer):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=len(NAMES))
    model = BertForTokenClassification(config)
    sentences = [["Ada", "Lovelace"], ["adrenoleukodystrophy", "is", "rare", "."], ["x"] * 30]
    tags = tc.predict_word_tags(model, tokenizer, sentences, NAMES, max_length=12, batch_size=2)
    assert [len(row) for row in tags] == [2, 4, 30]
    assert all(tag in NAMES for row in tags for tag in row)
    assert tags[2][10:] == ["O"] * 20                    # cut off by max_length: predicted O, still scored


def test_entity_f1_statistic_is_seqevals_f1_on_every_resample():
    gold = [["B-PER", "O"], ["B-LOC", "O"], ["O", "B-ORG"], ["B-PER", "I-PER"], ["O", "O"]] * 4
    predicted = [["B-PER", "O"], ["B-ORG", "O"], ["O", "O"], ["B-PER", "O"], ["B-LOC", "O"]] * 4
    statistic = tc.entity_f1_statistic(gold, predicted)
    rows = np.random.default_rng(3).integers(0, len(gold), (25, len(gold)))
    by_seqeval = [tc.entity_scores([gold[i] for i in row], [predicted[i] for i in row])["f1"] for row in rows]
    assert statistic(rows) == pytest.approx(by_seqeval)
    assert statistic(np.zeros((1, 3), dtype=int))[0] == 1.0         # a resample of one sentence, right
    assert tc.entity_f1_statistic([["O"]], [["O"]])(np.zeros((1, 1), dtype=int))[0] == 0.0   # no entity at all


def test_f1_interval_and_difference_see_a_perfect_system_a_partial_one_and_a_tie():
    gold = [["B-PER", "O"], ["B-LOC", "O"], ["O", "B-ORG"], ["B-PER", "I-PER"]] * 5
    assert tc.f1_interval(gold, gold) == intervals.Interval(1.0, 1.0, 1.0)
    half = [tags if i % 2 else ["O"] * len(tags) for i, tags in enumerate(gold)]     # every other sentence's entity
    partial = tc.f1_interval(gold, half)
    assert partial.value == pytest.approx(tc.entity_scores(gold, half)["f1"])
    assert 0 < partial.low < partial.value < partial.high < 1
    empty = [["O", "O"] for _ in gold]
    assert intervals.verdict(tc.f1_difference(gold, gold, empty), "A", "B") == "A is better than B"
    assert intervals.verdict(tc.f1_difference(gold, empty, gold), "A", "B") == "A is worse than B"
    assert tc.f1_difference(gold, gold, gold) == intervals.Interval(0.0, 0.0, 0.0)


def test_label_maps_and_settings_follow_the_profile(monkeypatch):
    maps = tc.label_maps(NAMES)
    assert maps["num_labels"] == 9 and maps["id2label"][1] == "B-PER" and maps["label2id"]["I-MISC"] == 8
    monkeypatch.setenv("BERTCOURSE_PROFILE", "laptop")
    assert tc.default_ner_settings().learning_rate == tc.MINILM_NER_RECIPE.learning_rate
    monkeypatch.setenv("BERTCOURSE_PROFILE", "gpu")
    monkeypatch.delenv("BERTCOURSE_MODEL_OVERRIDES", raising=False)
    assert tc.default_ner_settings("biobert-base-cased") == tc.BERT_BASE_NER_RECIPE
    monkeypatch.setenv("BERTCOURSE_MODEL_OVERRIDES", f"*={MINILM}")
    assert tc.default_ner_settings().epochs == tc.MINILM_NER_RECIPE.epochs


@pytest.mark.parametrize("key", ["conll2003", "ncbi_disease"])
def test_real_data_aligns_without_losing_words(shared_data, monkeypatch, tokenizer, key):
    monkeypatch.setenv("BERTCOURSE_PROFILE", "gpu")
    monkeypatch.setenv("BERTCOURSE_DATA_DIR", os.fspath(shared_data))
    data = bc.load_dataset(key)["validation"].select(range(300))
    names = tc.tag_names(data)
    assert names[0] == "O" and all(name[:2] in ("B-", "I-") for name in names[1:])
    encoded = data.map(tc.tokenize_and_align_labels, batched=True,
                       fn_kwargs={"tokenizer": tokenizer, "max_length": tc.MINILM_NER_RECIPE.max_length})
    kept = [sum(label != -100 for label in row["labels"]) == len(row["tokens"]) for row in encoded]
    assert np.mean(kept) > 0.99

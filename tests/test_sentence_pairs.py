"""bertcourse.sentence_pairs: the hard-case rule, the segment-id edits, the cosine threshold and the pair
classifier's training path, on hand-made pairs and a tiny random BERT."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    DataCollatorWithPadding,
)

from bertcourse import classification as clf
from bertcourse import embeddings as emb
from bertcourse import sentence_pairs as sp
from bertcourse import training
from bertcourse.tokenization import train_wordpiece


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


FIRST = ["i am so happy today", "tears again tonight", "sunshine and smiles", "i feel so sad and alone"]
SECOND = ["what a joy to see you", "everything is grey and heavy", "i miss you so much it hurts", "this is the best day ever"]
NAMES = ["different", "same"]


@pytest.fixture(scope="module")
def tokenizer():
    return train_wordpiece((FIRST + SECOND) * 3, vocab_size=120)


def tiny_config(tokenizer, **kwargs) -> BertConfig:
    return BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0, **kwargs)


def labelled_pairs(first: list[str], second: list[str], labels: list[int]) -> datasets.Dataset:
    features = datasets.Features({"sentence1": datasets.Value("string"), "sentence2": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=NAMES)})
    return datasets.Dataset.from_dict({"sentence1": first, "sentence2": second, "label": labels}, features=features)


def test_the_threshold_is_chosen_on_validation_and_the_test_labels_play_no_part(tokenizer) -> None:
    torch.manual_seed(0)
    encoder = BertModel(tiny_config(tokenizer)).eval()
    validation = labelled_pairs(FIRST + FIRST, SECOND + FIRST, [0, 0, 0, 0, 1, 1, 1, 1])   # identical = same
    test = labelled_pairs(SECOND + FIRST[:2], FIRST + FIRST[:2], [0, 0, 0, 0, 1, 1])
    answers, threshold = sp.threshold_answers(encoder, tokenizer, validation, test)
    validation_cosines = emb.pair_cosines(encoder, tokenizer, validation["sentence1"], validation["sentence2"])
    assert threshold == emb.best_threshold(validation_cosines, validation["label"])[0]
    test_cosines = emb.pair_cosines(encoder, tokenizer, test["sentence1"], test["sentence2"])
    np.testing.assert_array_equal(answers, (test_cosines >= threshold).astype(int))
    assert answers[-2:].tolist() == [1, 1]                  # identical sentences: cosine 1, above any threshold
    relabelled = test.map(lambda row: {"label": 1 - row["label"]})
    np.testing.assert_array_equal(sp.threshold_answers(encoder, tokenizer, validation, relabelled)[0], answers)


def test_the_pair_classifier_trains_through_lesson_04s_trainer_and_answers_in_order(
        tokenizer, monkeypatch: pytest.MonkeyPatch) -> None:
    built = {}

    def tiny_model(checkpoint: str, model_class, **head) -> BertForSequenceClassification:
        built.update(head, checkpoint=checkpoint)
        return BertForSequenceClassification(tiny_config(tokenizer, type_vocab_size=2, **head))

    monkeypatch.setattr(sp, "load_model", tiny_model)
    labelled = labelled_pairs(FIRST, SECOND, [1, 1, 0, 0])
    encoded = clf.tokenize_for_classification(datasets.DatasetDict({"train": labelled}), tokenizer, 32)["train"]
    settings = training.FinetuneSettings(learning_rate=3e-3, epochs=15, batch_size=4, warmup_ratio=0.0,
                                         weight_decay=0.0, max_length=32)
    trainer = sp.fine_tune_pair_classifier(labelled, encoded, tokenizer, settings)
    assert built["num_labels"] == 2 and built["id2label"] == {0: "different", 1: "same"}   # sized from the labels
    assert isinstance(trainer.data_collator, DataCollatorWithPadding)
    assert sp.predicted_labels(trainer, encoded).tolist() == [1, 1, 0, 0]    # learnt, and in the split's order

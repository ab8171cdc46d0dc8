"""bertcourse.classification and the shared bertcourse.training on a tiny random BERT: settings per
profile, tokenisation, pooling, features, metrics, the Trainer wiring (a few real optimisation steps)
and the worst-example table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertModel, EvalPrediction

from bertcourse import classification as clf
from bertcourse import intervals, training
from bertcourse.course import profiles
from bertcourse.tokenization import train_wordpiece

TEXTS = ["i am so happy today", "this is the best day ever", "what a joy to see you", "sunshine and smiles",
         "i feel so sad and alone", "everything is grey and heavy", "i miss you so much it hurts",
         "tears again tonight"]
LABELS = [1, 1, 1, 1, 0, 0, 0, 0]


@pytest.fixture(scope="module")
def tokenizer():
    return train_wordpiece(TEXTS * 3, vocab_size=120)


def tiny_config(tokenizer, **kwargs) -> BertConfig:
    return BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0, **kwargs)


@pytest.fixture
def dataset(tokenizer) -> datasets.DatasetDict:
    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["sadness", "joy"])})
    split = datasets.Dataset.from_dict({"text": TEXTS, "label": LABELS}, features=features)
    return datasets.DatasetDict({"train": split, "validation": split})


pytestmark = pytest.mark.usefixtures("fresh_profile")


def test_settings_follow_the_encoder_that_serves_the_checkpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    laptop = clf.default_settings()
    assert laptop.learning_rate == clf.MINILM_RECIPE.learning_rate
    profiles.use_profile("gpu")
    gpu = clf.default_settings()
    assert gpu == clf.BERT_BASE_RECIPE and 2e-5 <= gpu.learning_rate <= 5e-5 and 2 <= gpu.epochs <= 4
    monkeypatch.setenv("BERTCOURSE_MODEL_OVERRIDES", "*=all-MiniLM-L6-v2")
    assert clf.default_settings().learning_rate == clf.MINILM_RECIPE.learning_rate
    assert "learning_rate    0.0001" in clf.default_settings().describe()


def test_tokenize_leaves_padding_to_the_collator_and_records_lengths(tokenizer, dataset) -> None:
    full = [len(tokenizer(text)["input_ids"]) for text in TEXTS]
    limit = max(full) - 1   # truncates the longest texts only (the median could equal the maximum: the
    assert min(full) < limit  # vocabulary, and so the lengths, vary with WordPiece's tie-breaking per process)
    encoded = clf.tokenize_for_classification(dataset, tokenizer, max_length=limit)
    lengths = [len(ids) for ids in encoded["train"]["input_ids"]]
    assert list(encoded["train"]["length"]) == lengths == [min(n, limit) for n in full]
    fixed = clf.tokenize_for_classification(dataset, tokenizer, max_length=12, pad_to_max_length=True)
    assert {len(ids) for ids in fixed["train"]["input_ids"]} == {12}
    assert list(fixed["train"]["label"]) == LABELS


def test_mean_pool_ignores_padding() -> None:
    hidden = torch.arange(24, dtype=torch.float32).view(2, 3, 4)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    pooled = clf.mean_pool(hidden, mask)
    assert torch.equal(pooled[0], hidden[0, :2].mean(0)) and torch.equal(pooled[1], hidden[1].mean(0))


def test_metrics_from_logits() -> None:
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])
    metrics = training.classification_metrics(EvalPrediction(predictions=logits, label_ids=np.array([0, 1, 2, 2])))
    assert metrics["accuracy"] == pytest.approx(0.75)
    assert metrics["macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert training.scores([0, 1], [0, 1]) == {"accuracy": 1.0, "macro_f1": 1.0}


def test_features_and_probabilities_do_not_depend_on_batching(tokenizer) -> None:
    torch.manual_seed(0)
    encoder = BertModel(tiny_config(tokenizer))
    one_by_one = clf.frozen_features(encoder, tokenizer, TEXTS, batch_size=1)
    batched = clf.frozen_features(encoder, tokenizer, TEXTS, batch_size=5)
    assert one_by_one["cls"].shape == (len(TEXTS), 32)
    for pooling in ("cls", "mean"):
        np.testing.assert_allclose(one_by_one[pooling], batched[pooling], atol=1e-5)
    classifier = BertForSequenceClassification(tiny_config(tokenizer, num_labels=3))
    probabilities = training.predict_probabilities(classifier, tokenizer, TEXTS, batch_size=3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probabilities[::-1], training.predict_probabilities(classifier, tokenizer, TEXTS[::-1]),
                               atol=1e-5)


def test_logistic_regression_separates_separable_features() -> None:
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(-2, 1, (30, 4)), rng.normal(2, 1, (30, 4))])
    labels = [0] * 30 + [1] * 30
    assert training.scores(labels, clf.logistic_regression(features, labels).predict(features))["accuracy"] == 1.0


def test_training_arguments_carry_the_settings(tmp_path: Path) -> None:
    settings = training.FinetuneSettings(learning_rate=4e-5, epochs=3, batch_size=8,
                                         warmup_ratio=0.1, weight_decay=0.01, max_length=64)
    arguments = training.training_arguments(settings, tmp_path)
    assert (arguments.learning_rate, arguments.num_train_epochs, arguments.per_device_train_batch_size) == (4e-5, 3, 8)
    assert arguments.warmup_steps == 0.1 and arguments.weight_decay == 0.01
    assert arguments.train_sampling_strategy == "group_by_length" and arguments.eval_strategy == "epoch"
    assert arguments.save_strategy == "no" and not arguments.bf16  # no GPU in the test environment
    ungrouped = training.training_arguments(dataclasses.replace(settings, group_by_length=False), tmp_path, max_steps=5)
    assert ungrouped.train_sampling_strategy == "random" and ungrouped.max_steps == 5


def test_trainer_fine_tunes_and_evaluates_each_epoch(tokenizer, dataset, tmp_path: Path) -> None:
    # A gentle step and many epochs: at 1e-2 for 8 epochs the tiny model sometimes stayed at chance (loss
    # 0.693), depending on the WordPiece vocabulary, whose ties the trainer breaks differently per process.
    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny_config(tokenizer, num_labels=2))
    settings = training.FinetuneSettings(learning_rate=3e-3, epochs=20, batch_size=4,
                                         warmup_ratio=0.1, weight_decay=0.01, max_length=16)
    encoded = clf.tokenize_for_classification(dataset, tokenizer, settings.max_length)
    trainer = training.make_trainer(model, tokenizer, training.training_arguments(settings, tmp_path, disable_tqdm=True),
                                    encoded["train"], encoded["validation"])
    trainer.train()
    evaluations = [row for row in trainer.state.log_history if "eval_accuracy" in row]
    assert len(evaluations) == settings.epochs and "eval_macro_f1" in evaluations[-1]
    assert evaluations[-1]["eval_accuracy"] == 1.0   # memorises 8 training texts
    assert not list(tmp_path.glob("checkpoint-*"))   # save_strategy="no"


def test_worst_examples_are_the_most_confident_mistakes() -> None:
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95]])
    table = clf.worst_examples(["a", "b", "c", "d"], [0, 0, 1, 1], probabilities, ["sad", "joy"], count=5)
    assert table["text"].tolist() == ["b", "c"]   # d is right; b has the lowest p(true) among the wrong
    assert table["predicted"].tolist() == ["joy", "sad"] and table["p(true)"].tolist() == [0.2, 0.4]


def test_bootstrap_scores_agree_with_scikit_learn_and_pair_the_resamples() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 120)
    good = np.where(rng.random(120) < 0.8, labels, rng.integers(0, 4, 120))
    weak = np.where(rng.random(120) < 0.4, labels, rng.integers(0, 4, 120))
    single = training.bootstrap_scores(labels, good, resamples=500)
    for metric, value in training.scores(labels, good).items():
        assert single[metric].value == pytest.approx(value)
        assert single[metric].low < value < single[metric].high and single[metric].high - single[metric].low < 0.3
    # one resample by hand, including classes that vanish from it (macro-F1 skips them as scikit-learn does)
    draw = np.array([[0, 0, 1, 5, 5, 7]])
    resampled = training._resampled_scores(labels, weak, draw)
    assert resampled["macro_f1"][0] == pytest.approx(training.scores(labels[draw[0]], weak[draw[0]])["macro_f1"])
    assert training.bootstrap_scores(labels, good, reference=good)["accuracy"] == intervals.Interval(0.0, 0.0, 0.0)
    paired = training.bootstrap_scores(labels, good, reference=weak, resamples=500)
    assert paired["accuracy"].value == pytest.approx(np.mean(good == labels) - np.mean(weak == labels))
    assert 0 < paired["accuracy"].low < paired["accuracy"].value < paired["accuracy"].high
    # the accuracy interval is the one the shared module gives for the per-text hits (one owner, one number)
    hits_good, hits_weak = (good == labels).astype(float), (weak == labels).astype(float)
    by_hits = intervals.mean_interval(hits_good - hits_weak, resamples=500)
    assert (paired["accuracy"].low, paired["accuracy"].high) == pytest.approx((by_hits.low, by_hits.high))
    same_seed = training.bootstrap_scores(labels, good, reference=weak, resamples=500)
    assert same_seed == paired   # seeded: a notebook's intervals reproduce


def test_interval_table_puts_each_interval_next_to_its_value() -> None:
    table = training.interval_table({"a": {"accuracy": intervals.Interval(0.756, 0.7, 0.81),
                                           "macro_f1": intervals.Interval(-0.01, -0.064, 0.05)}})
    assert table.columns.tolist() == ["accuracy", "accuracy 95% interval", "macro_f1", "macro_f1 95% interval"]
    assert table.loc["a"].tolist() == [0.76, "[0.70, 0.81]", -0.01, "[-0.06, 0.05]"]


FIRST = ["i am so happy today", "tears again tonight", "sunshine and smiles", "i feel so sad and alone"]
SECOND = ["what a joy to see you", "everything is grey and heavy", "i miss you so much it hurts", "this is the best day ever"]


def pair_split(tokenizer, target: str) -> datasets.Dataset:
    """Four pairs labelled "same mood" (classes) or scored 0-5 (regression)."""
    same = [1, 1, 0, 0]
    if target == "label":
        features = datasets.Features({"sentence1": datasets.Value("string"), "sentence2": datasets.Value("string"),
                                      "label": datasets.ClassLabel(names=["different", "same"])})
        return datasets.Dataset.from_dict({"sentence1": FIRST, "sentence2": SECOND, "label": same}, features=features)
    # scores low on the 0-5 scale: Adam moves the new head's bias about one learning rate per step
    return datasets.Dataset.from_dict({"sentence1": FIRST, "sentence2": SECOND, "score": [1.0, 0.9, 0.1, 0.2]})


def test_pairs_get_segment_ids_0_then_1_and_the_longer_text_is_cut_first(tokenizer) -> None:
    long_first = "i am so happy today and this is the best day ever sunshine and smiles"
    split = datasets.DatasetDict({"train": datasets.Dataset.from_dict(
        {"sentence1": [long_first], "sentence2": ["tears again"], "label": [0]})})
    whole = clf.tokenize_for_classification(split, tokenizer, max_length=64)["train"][0]
    sep = tokenizer.sep_token_id
    first_sep = whole["input_ids"].index(sep)
    assert whole["input_ids"][0] == tokenizer.cls_token_id and whole["input_ids"][-1] == sep
    assert whole["token_type_ids"] == [0] * (first_sep + 1) + [1] * (len(whole["input_ids"]) - first_sep - 1)
    second_length = len(whole["input_ids"]) - first_sep - 1   # "tears again [SEP]"
    cut = clf.tokenize_for_classification(split, tokenizer, max_length=12)["train"][0]
    assert len(cut["input_ids"]) == cut["length"] == 12
    assert cut["token_type_ids"].count(1) == second_length          # the short second sentence is whole
    assert cut["input_ids"][-second_length:] == whole["input_ids"][-second_length:]
    assert cut["input_ids"][:3] == whole["input_ids"][:3]            # the long first one lost its end


@pytest.mark.parametrize("target", ["label", "score"])
def test_classification_and_regression_heads_train_on_pairs(tokenizer, target: str, tmp_path: Path) -> None:
    split = pair_split(tokenizer, target)
    head = clf.head_arguments(split)
    assert head["num_labels"] == (2 if target == "label" else 1)
    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny_config(tokenizer, type_vocab_size=2, **head))
    settings = training.FinetuneSettings(learning_rate=3e-3 if target == "label" else 3e-2, epochs=15, batch_size=4,
                                         warmup_ratio=0.0, weight_decay=0.0, max_length=32)
    encoded = clf.tokenize_for_classification(datasets.DatasetDict({"train": split}), tokenizer, settings.max_length)
    assert set(encoded["train"][0]["token_type_ids"]) == {0, 1}
    trainer = training.make_trainer(model, tokenizer, training.training_arguments(settings, tmp_path, disable_tqdm=True),
                                    encoded["train"], encoded["train"])
    trainer.train()
    evaluations = [row for row in trainer.state.log_history if "eval_loss" in row]
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    assert losses[-1] < losses[0]                           # the head learns the pairs (cross-entropy or MSE)
    if target == "label":
        assert evaluations[-1]["eval_accuracy"] == 1.0
    else:
        # the scores' level is learnt first (ranking four pairs depends on the per-process vocabulary): the
        # mean squared error ends below half that of the untrained head, which outputs about 0
        assert model.config.problem_type == "regression" and "eval_spearman" in evaluations[-1]
        assert evaluations[-1]["eval_loss"] < np.mean(np.square(split["score"])) / 2


def test_a_one_output_head_is_scored_by_rank_correlation() -> None:
    outputs = np.array([[0.1], [0.9], [0.5], [0.4]])
    metrics = training.classification_metrics(EvalPrediction(predictions=outputs, label_ids=np.array([0.0, 5.0, 3.0, 2.0])))
    assert metrics == {"spearman": pytest.approx(1.0)}
    reversed_ = training.classification_metrics(EvalPrediction(predictions=-outputs, label_ids=np.array([0.0, 5.0, 3.0, 2.0])))
    assert reversed_["spearman"] == pytest.approx(-1.0)


def test_predictions_come_back_in_the_datasets_order_when_training_groups_by_length(tokenizer, tmp_path: Path) -> None:
    """Trainer.predict length-groups its batches like training does; compared row by row with the
    dataset's labels that would score a perfect model at chance."""
    texts = [text * (1 + i % 3) for i, text in enumerate(TEXTS * 4)]   # many lengths, so grouping reorders
    split = datasets.Dataset.from_dict({"text": texts, "label": [i % 2 for i in range(len(texts))]})
    encoded = clf.tokenize_for_classification(datasets.DatasetDict({"test": split}), tokenizer, 32)["test"]
    torch.manual_seed(0)
    # large initial weights, so that every text gets clearly different logits
    model = BertForSequenceClassification(tiny_config(tokenizer, num_labels=2, initializer_range=0.5)).eval()
    settings = training.FinetuneSettings(learning_rate=1e-3, epochs=1, batch_size=4, warmup_ratio=0.0, max_length=32)
    arguments = training.training_arguments(settings, tmp_path, disable_tqdm=True, eval_strategy="no")
    trainer = training.make_trainer(model, tokenizer, arguments, encoded)
    assert trainer.args.train_sampling_strategy == "group_by_length"
    in_order = training.predictions_in_order(trainer, encoded)
    with torch.no_grad():
        one_by_one = np.concatenate([model(**tokenizer(text, return_tensors="pt", truncation=True, max_length=32)).logits.numpy()
                                     for text in texts])
    np.testing.assert_allclose(in_order, one_by_one, atol=1e-4)
    assert trainer.args.train_sampling_strategy == "group_by_length"   # restored
    assert not np.allclose(trainer.predict(encoded).predictions, one_by_one, atol=1e-4)  # what the helper avoids


def test_the_mean_pooling_head_reads_every_real_token_and_trains_with_the_trainer(tokenizer, dataset,
                                                                                  tmp_path: Path) -> None:
    """Notebook 04's head for notebook 03's BERT: padding changes nothing, the [CLS] vector alone does not
    decide the logits (as it does through BertForSequenceClassification's pooler), the loss is the
    cross-entropy of the logits, and the shared Trainer path fine-tunes it."""
    torch.manual_seed(0)
    model = clf.MeanPoolingClassifier(BertModel(tiny_config(tokenizer), add_pooling_layer=False), num_labels=2).eval()
    assert model.config.num_labels == 2
    short = tokenizer(["i am so happy today"], return_tensors="pt")
    padded = tokenizer(["i am so happy today"], padding="max_length", max_length=20, return_tensors="pt")
    assert torch.allclose(model(**short).logits, model(**padded).logits, atol=1e-5)
    hidden = model.bert(**short).last_hidden_state
    expected = model.classifier(hidden.mean(dim=1))                       # one text, no padding: a plain mean
    assert torch.allclose(model(**short).logits, expected, atol=1e-5)
    assert not torch.allclose(model(**short).logits, model.classifier(hidden[:, 0]), atol=1e-3)
    labels = torch.tensor([1])
    output = model(**short, labels=labels)
    assert torch.isclose(output.loss, torch.nn.functional.cross_entropy(output.logits, labels))

    settings = training.FinetuneSettings(learning_rate=3e-3, epochs=20, batch_size=4,
                                         warmup_ratio=0.1, weight_decay=0.01, max_length=16)
    encoded = clf.tokenize_for_classification(dataset, tokenizer, settings.max_length)
    arguments = training.training_arguments(settings, tmp_path, disable_tqdm=True, eval_strategy="no")
    training.make_trainer(model.train(), tokenizer, arguments, encoded["train"]).train()
    probabilities = training.predict_probabilities(model, tokenizer, TEXTS, settings.max_length)
    assert probabilities.shape == (len(TEXTS), 2)
    assert (probabilities.argmax(axis=1) == np.array(LABELS)).all()       # memorises 8 training texts

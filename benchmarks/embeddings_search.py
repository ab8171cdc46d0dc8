"""Sentence embeddings and search on real data with notebook 09's code (bertcourse.embeddings, .search).

    .venv/bin/python benchmarks/embeddings_search.py                       # everything (~15 min on 2 busy cores)
    .venv/bin/python benchmarks/embeddings_search.py --questions 2000      # fewer SQuAD questions
    .venv/bin/python benchmarks/embeddings_search.py --checkpoint DIR      # notebook 03's BERT from elsewhere

1. STS-B test (1,379 pairs, ../shared/data/stsb), Spearman x100 with a bootstrap 95% interval, for MiniLM mean
   pooling, MiniLM [CLS], notebook 03's BERT (the checkpoint `bertcourse pretrain` / notebook 03 saved; skipped
   with a message when there is none) and the same BERT after a contrastive fine-tune: on neighbour sentences of
   the real WikiText sample (the notebook's recipe on real text), on STS-B *train* pairs scored >= 4 (labelled
   paraphrases), and the control with shuffled neighbour partners. Anisotropy on 500 STS-B test sentences.
2. Retrieval on SQuAD v1.1 dev (../shared/data/squad_v1.1_dev, train + validation = the full dev set): every
   question must find its paragraph among all 2,067. BM25 (bm25s), MiniLM mean pooling (exact search and a
   faiss HNSW index), and their reciprocal-rank-fusion hybrid: recall@1/5/20, MRR, index build and query time.
3. Encoding throughput of MiniLM in sentences/s (STS-B sentences, batch 64) and paragraphs/s.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import time
from pathlib import Path

from real_data import DEFAULT_DATA_DIR, describe_machine, use_real_data


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="notebook 03's BERT (default: the course home's artifacts/03_pretrained)")
    parser.add_argument("--contrastive-steps", type=int, default=300)
    parser.add_argument("--questions", type=int, default=None, help="use only the first N SQuAD questions")
    parser.add_argument("--paragraph-length", type=int, default=256, help="tokens per paragraph (MiniLM's limit)")
    return parser.parse_args()


def sts_block(args: argparse.Namespace) -> None:
    import numpy as np
    from transformers import AutoModel, AutoTokenizer

    import bertcourse as bc
    from bertcourse import embeddings as emb

    stsb = bc.load_dataset("stsb")
    test = stsb["test"]
    tokenizer, minilm = bc.load_tokenizer("bert-base-uncased"), bc.load_model("bert-base-uncased").eval()
    sample = list(dict.fromkeys(test["sentence1"]))[:500]

    def row(name: str, model, tok, pooling: str) -> None:
        start = time.perf_counter()
        cosines = emb.pair_cosines(model, tok, test["sentence1"], test["sentence2"], pooling)
        seconds = time.perf_counter() - start
        rho = emb.spearman_interval(cosines, test["score"]).scaled(100)
        print(f"| {name} | {rho.value:.1f} | {rho.low:.1f}-{rho.high:.1f} | "
              f"{emb.anisotropy(emb.encode(model, tok, sample, pooling)):.2f} | {2 * len(test) / seconds:,.0f} |", flush=True)

    print(f"\n## STS-B test ({len(test):,} pairs): Spearman x100, bootstrap 95% interval, anisotropy\n")
    print("| encoder | Spearman x100 | 95% interval | anisotropy (500 sentences) | sentences/s |\n|---|---:|---|---:|---:|")
    row("MiniLM mean pooling", minilm, tokenizer, "mean")
    row("MiniLM [CLS]", minilm, tokenizer, "cls")
    checkpoint = args.checkpoint or (bc.paths.course_home() / "artifacts" / "03_pretrained")
    if not (checkpoint / "config.json").is_file():
        print(f"\n(no notebook 03 checkpoint in {checkpoint}: run `bertcourse pretrain` or pass --checkpoint)")
        return
    ours_tokenizer, ours = AutoTokenizer.from_pretrained(checkpoint), AutoModel.from_pretrained(checkpoint).eval()
    summary = checkpoint / "pretraining_summary.json"
    if summary.is_file():
        print(f"\nnotebook 03's BERT: {checkpoint.name}, {json.loads(summary.read_text()).get('steps', '?')} steps")
    row("notebook 03's BERT, mean", ours, ours_tokenizer, "mean")
    row("notebook 03's BERT, [CLS]", ours, ours_tokenizer, "cls")
    wiki = bc.load_dataset("wikipedia")["train"]["sentences"]
    neighbours = emb.neighbour_pairs(wiki)
    rng = np.random.default_rng(0)
    shuffled = list(zip([a for a, _ in neighbours], [neighbours[i][1] for i in rng.permutation(len(neighbours))]))
    paraphrases = [(r["sentence1"], r["sentence2"]) for r in stsb["train"] if r["score"] >= 4.0]
    print(f"\ncontrastive fine-tunes: {args.contrastive_steps} steps, batch 32, lr 3e-4, mean pooling; "
          f"{len(neighbours):,} WikiText neighbour pairs, {len(paraphrases):,} STS-B train pairs scored >= 4\n")
    print("| encoder | Spearman x100 | 95% interval | anisotropy (500 sentences) | sentences/s |\n|---|---:|---|---:|---:|")
    for name, pairs in {"03's BERT + contrastive, WikiText neighbours": neighbours,
                        "03's BERT + contrastive, STS-B train paraphrases": paraphrases,
                        "03's BERT + control, shuffled neighbours": shuffled}.items():
        model = copy.deepcopy(ours)
        start = time.perf_counter()
        emb.contrastive_finetune(model, ours_tokenizer, pairs, steps=args.contrastive_steps, batch_size=32,
                                 learning_rate=3e-4, pooling="mean", seed=0)
        print(f"({name}: trained in {time.perf_counter() - start:.0f} s)", flush=True)
        row(name, model, ours_tokenizer, "mean")


def squad_block(args: argparse.Namespace) -> None:
    import numpy as np

    import bertcourse as bc
    from bertcourse import embeddings as emb
    from bertcourse import search

    from bertcourse.course.registry import local_dataset_folder

    folder = local_dataset_folder("squad", args.data_dir)
    rows = [json.loads(line) for name in ("train.jsonl", "validation.jsonl")
            for line in (folder / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    paragraphs = list(dict.fromkeys(row["context"] for row in rows))
    position = {text: i for i, text in enumerate(paragraphs)}
    if args.questions:
        rows = random.Random(0).sample(rows, args.questions)
    questions = [row["question"] for row in rows]
    relevant = [{position[row["context"]]} for row in rows]
    print(f"\n## SQuAD v1.1 dev retrieval: {len(questions):,} questions, {len(paragraphs):,} paragraphs\n")

    start = time.perf_counter()
    bm25 = search.BM25Index(paragraphs)
    bm25_build = time.perf_counter() - start
    start = time.perf_counter()
    keyword_scores = bm25.score_matrix(questions)
    bm25_query = time.perf_counter() - start
    keyword = search.rankings(keyword_scores)[:, :100]
    del keyword_scores

    tokenizer, minilm = bc.load_tokenizer("bert-base-uncased"), bc.load_model("bert-base-uncased").eval()
    start = time.perf_counter()
    doc_vectors = emb.encode(minilm, tokenizer, paragraphs, max_length=args.paragraph_length, progress=True).numpy()
    encode_docs = time.perf_counter() - start
    start = time.perf_counter()
    query_vectors = emb.encode(minilm, tokenizer, questions, progress=True).numpy()
    encode_queries = time.perf_counter() - start
    start = time.perf_counter()
    _, dense = search.exact_top_k(query_vectors, doc_vectors, 100)
    exact_search = time.perf_counter() - start
    start = time.perf_counter()
    index = search.hnsw_index(doc_vectors)
    hnsw_build = time.perf_counter() - start
    start = time.perf_counter()
    _, approximate = index.search(query_vectors, 100)
    hnsw_search = time.perf_counter() - start
    hybrid = [search.reciprocal_rank_fusion([k, d]) for k, d in zip(keyword, dense)]

    print("| method | recall@1 | recall@5 | recall@20 | MRR |\n|---|---:|---:|---:|---:|")
    for name, ranked in {"BM25 (bm25s, stemmed)": keyword, "MiniLM mean, exact": dense,
                         "MiniLM mean, faiss HNSW": approximate, "hybrid (RRF of BM25 + MiniLM exact)": hybrid}.items():
        ranked = list(ranked)
        print(f"| {name} | {search.recall_at_k(ranked, relevant, 1):.3f} | {search.recall_at_k(ranked, relevant, 5):.3f} "
              f"| {search.recall_at_k(ranked, relevant, 20):.3f} | {search.mean_reciprocal_rank(ranked, relevant):.3f} |")
    agreement = float(np.mean(approximate[:, :20] == dense[:, :20]))
    print(f"\nfaiss HNSW vs exact: {agreement:.2%} of top-20 positions identical")
    print("\n| step | seconds | per query |\n|---|---:|---:|")
    for name, seconds, per_query in [
            ("BM25 index build (tokenise + stem + index)", bm25_build, False),
            ("BM25 scoring, all paragraphs per query", bm25_query, True),
            (f"MiniLM encode {len(paragraphs):,} paragraphs (index build)", encode_docs, False),
            ("MiniLM encode questions", encode_queries, True),
            ("exact search (matrix product + sort)", exact_search, True),
            ("faiss HNSW build", hnsw_build, False),
            ("faiss HNSW search", hnsw_search, True)]:
        print(f"| {name} | {seconds:.2f} | {1000 * seconds / len(questions):.2f} ms |" if per_query
              else f"| {name} | {seconds:.2f} | |")
    print(f"\nMiniLM throughput: {len(questions) / encode_queries:,.0f} questions/s, "
          f"{len(paragraphs) / encode_docs:,.1f} paragraphs/s (up to {args.paragraph_length} tokens)")


def main() -> None:
    args = parse_args()
    use_real_data(args.data_dir, "stsb", "squad", "wikipedia")
    import bertcourse as bc

    bc.start_lesson("09_embeddings_search")
    print(describe_machine())
    sts_block(args)
    squad_block(args)
    import os

    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

"""Issue 33, lesson 09: which contrastive fine-tune of notebook 03's BERT beats its shuffled-partner control?

For each recipe, fine-tunes a copy of notebook 03's BERT (from a course home) with the in-batch contrastive loss
on a pool of (anchor, positive) pairs, and a second copy with the same recipe on the same sentences with the
partners shuffled (the control). Prints, per recipe, the course STS test Spearman x100 of both with the paired
bootstrap interval of the difference (and of the difference from the untrained model), and paraphrase retrieval
on `data/paraphrase`'s test split (each equivalent pair's first sentence must find its partner among all 104
second sentences; mean reciprocal rank, paired interval). Results: `results_payoff.md`.

Pools: the sources of `embeddings.course_pairs` ("paraphrases", "question / answer sentence",
"FAQ question / answer", "same intent"; "course" is all four), "neighbour" (consecutive corpus sentences,
the lesson's earlier pairs), "dropout" (each corpus sentence with itself: the two passes differ only by
dropout, as in unsupervised SimCSE) and "deletion" (each corpus sentence with a copy missing about 30% of its
words, `embeddings.word_deletion_pairs`); join them with "+". A recipe also takes steps, batch, lr, scale, seed
and pooling (mean or cls).

    BERTCOURSE_HOME=~/course python benchmarks/payoff_09.py "pool=course+deletion,steps=150,batch=64" "pool=course,steps=300"

`split=validation` (anywhere among the arguments) scores STS on the course's 94 validation pairs instead of the
94 test pairs, a second check (session 11's recipe was chosen looking at both sets).
`init=random` starts both runs from randomly initialised weights of the same architecture instead of notebook 03's.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from typing import Any

import numpy as np


def main(arguments: list[str]) -> None:
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    import bertcourse as bc
    from bertcourse import embeddings as emb
    from bertcourse import intervals

    bc.use_profile("laptop")
    path = bc.paths.saved_checkpoint("03_pretrained")
    settings = dict(item.split("=", 1) for item in arguments if item.startswith(("split=", "init=")))
    split, init = settings.get("split", "test"), settings.get("init", "pretrained")
    specs = [item for item in arguments if not item.startswith(("split=", "init="))]
    tokenizer = AutoTokenizer.from_pretrained(path)
    if init == "random":
        torch.manual_seed(0)
        base = AutoModel.from_config(AutoConfig.from_pretrained(path)).eval()
    else:
        base = AutoModel.from_pretrained(path).eval()
    data = bc.paths.shipped_data_dir()
    sts = bc.load_dataset("stsb")[split]
    paraphrase = [json.loads(line) for line in (data / "paraphrase" / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    corpus = bc.load_dataset("wikipedia")["train"]["sentences"]
    sentences = [sentence for document in corpus for sentence in document]
    pools = {**emb.course_pairs(data), "neighbour": emb.neighbour_pairs(corpus),
             "dropout": [(sentence, sentence) for sentence in sentences], "deletion": emb.word_deletion_pairs(sentences)}
    pools["course"] = [pair for name in ("paraphrases", "question / answer sentence", "FAQ question / answer", "same intent")
                       for pair in pools[name]]

    def sts_cosines(model: Any, pooling: str = "mean") -> np.ndarray:
        return emb.pair_cosines(model, tokenizer, sts["sentence1"], sts["sentence2"], pooling)

    def reciprocal_ranks(model: Any, pooling: str = "mean") -> np.ndarray:
        wanted = [i for i, row in enumerate(paraphrase) if row["label"] == "equivalent"]
        scores = (emb.encode(model, tokenizer, [paraphrase[i]["sentence1"] for i in wanted], pooling)
                  @ emb.encode(model, tokenizer, [row["sentence2"] for row in paraphrase], pooling).T).numpy()
        return np.array([1.0 / (1 + (scores[k] > scores[k, i]).sum()) for k, i in enumerate(wanted)])

    print(f"{init} encoder, mean pooling: STS x100 {emb.spearman_interval(sts_cosines(base), sts['score']).scaled(100)}, "
          f"paraphrase MRR {reciprocal_ranks(base).mean():.3f}", flush=True)
    for spec in specs:
        options = dict(item.split("=") for item in spec.split(","))
        pairs = [pair for name in options["pool"].split("+") for pair in pools[name]]
        recipe = {"steps": int(options.get("steps", 120)), "batch_size": int(options.get("batch", 32)),
                  "learning_rate": float(options.get("lr", 3e-4)), "scale": float(options.get("scale", 20)),
                  "seed": int(options.get("seed", 0)), "pooling": options.get("pooling", "mean")}
        order = np.random.default_rng(0).permutation(len(pairs))
        shuffled = list(zip([a for a, _ in pairs], [pairs[i][1] for i in order]))
        start = time.perf_counter()
        trained, control = copy.deepcopy(base), copy.deepcopy(base)
        losses = [emb.contrastive_finetune(model, tokenizer, chosen, **recipe)
                  for model, chosen in ((trained, pairs), (control, shuffled))]
        seconds = time.perf_counter() - start
        before_cosines, after, shuffled_cosines = (sts_cosines(model, recipe["pooling"]) for model in (base, trained, control))
        ranks, control_ranks = (reciprocal_ranks(model, recipe["pooling"]) for model in (trained, control))
        result = {"spec": spec, "pairs": len(pairs), "seconds (both runs)": round(seconds),
                  "final loss, pairs / control": [round(float(np.mean(curve[-20:])), 2) for curve in losses],
                  "STS after": str(emb.spearman_interval(after, sts["score"]).scaled(100)),
                  "STS control": str(emb.spearman_interval(shuffled_cosines, sts["score"]).scaled(100)),
                  "STS after - control": str(emb.spearman_difference(after, shuffled_cosines, sts["score"]).scaled(100)),
                  "STS after - before": str(emb.spearman_difference(after, before_cosines, sts["score"]).scaled(100)),
                  "paraphrase MRR after / control": [round(float(ranks.mean()), 3), round(float(control_ranks.mean()), 3)],
                  "paraphrase MRR after - control": str(intervals.mean_interval(ranks - control_ranks))}
        print("RESULT", json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

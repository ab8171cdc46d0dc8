"""Issue 33, lesson 06: does notebook 06's continued MLM on `data/bio_corpus` help disease NER, and when?

Adapts MiniLM with the notebook's recipe, then fine-tunes the general and the adapted encoder on the first N
(seeded shuffle) NER training sentences for each N, and prints each F1 and the paired bootstrap interval of the
difference. Results: `results_payoff.md`.

    python benchmarks/payoff_06.py ns=60,266 [epochs=4] [lr=2e-4]
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time


def main(args: dict[str, str]) -> None:
    from transformers import AutoModelForTokenClassification

    import bertcourse as bc
    from bertcourse import domain_adaptation as da
    from bertcourse import token_classification as tc
    from bertcourse import training

    bc.use_profile("laptop")
    tokenizer = bc.load_tokenizer("bert-base-cased")
    adapt = dataclasses.replace(da.default_adaptation_settings("bert-base-cased"),
                                epochs=int(args.get("epochs", 4)), learning_rate=float(args.get("lr", 2e-4)))
    corpus = bc.load_dataset("pubmed")
    bc.set_seed(0)
    mlm_model, _ = da.masked_lm_with_head("bert-base-cased")
    blocks = da.corpus_blocks(corpus["train"]["sentences"], tokenizer, adapt.block_size)
    start = time.perf_counter()
    da.make_mlm_trainer(mlm_model, tokenizer, adapt, blocks, tempfile.mkdtemp()).train()
    result: dict[str, object] = {"adaptation_seconds": round(time.perf_counter() - start)}
    adapted_dir = tempfile.mkdtemp()
    mlm_model.save_pretrained(adapted_dir)
    tokenizer.save_pretrained(adapted_dir)

    ncbi = bc.load_dataset("ncbi_disease")
    names = tc.tag_names(ncbi["train"])
    gold = tc.ids_to_tags(ncbi["test"]["ner_tags"], names)
    ner = tc.default_ner_settings("bert-base-cased")
    for n in (int(value) for value in args.get("ns", "60,266").split(",")):
        labelled = ncbi["train"].shuffle(seed=0).select(range(min(n, len(ncbi["train"]))))
        tags = {}
        for name, source in (("general", "bert-base-cased"), ("adapted", adapted_dir)):
            bc.set_seed(0)
            model = (bc.load_model(source, AutoModelForTokenClassification, **tc.label_maps(names)) if name == "general"
                     else AutoModelForTokenClassification.from_pretrained(source, **tc.label_maps(names)))
            encoded = labelled.map(tc.tokenize_and_align_labels, batched=True,
                                   fn_kwargs={"tokenizer": tokenizer, "max_length": ner.max_length})
            arguments = training.training_arguments(ner, tempfile.mkdtemp(), eval_strategy="no",
                                                    logging_strategy="no", disable_tqdm=True)
            tc.make_ner_trainer(model, tokenizer, arguments, encoded, None, names).train()
            tags[name] = tc.predict_word_tags(model, tokenizer, ncbi["test"]["tokens"], names)
            result[f"{n} sentences, {name}"] = round(tc.entity_scores(gold, tags[name])["f1"], 3)
        result[f"{n} sentences, adapted minus general"] = str(tc.f1_difference(gold, tags["adapted"], tags["general"]))
        print("PARTIAL", json.dumps(result), flush=True)
    print("RESULT", json.dumps(result))


if __name__ == "__main__":
    main(dict(argument.split("=", 1) for argument in sys.argv[1:]))

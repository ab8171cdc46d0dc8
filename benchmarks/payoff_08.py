"""Issue 33, lesson 08: notebook 08's fine-tune with another recipe, scored as the notebook scores it.

Prints test F1 and EM, the paired bootstrap interval of F1 minus the word-overlap rule's, and how many of the ten
`ask` questions of `data/qa/ask_probe.json` get a right reply (`qa.reply_is_right`, the rule written in that
file). Results: `results_payoff.md`.

    python benchmarks/payoff_08.py lr=3e-4 epochs=6 [max_length=160] [validation=1] [batch_size=8] [warmup=0.1] [drills=1]
        [group_by_length=1] [max_answer_length=30] [n_best=20] [seed=0]

Validation F1 is printed too: recipes are chosen on it, never on the test set or the probe.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time


def main(args: dict[str, str]) -> None:
    from datasets import concatenate_datasets
    from transformers import AutoModelForQuestionAnswering

    import bertcourse as bc
    from bertcourse import intervals, training
    from bertcourse import question_answering as qa

    bc.use_profile("laptop")
    squad = bc.load_dataset("squad")
    settings = dataclasses.replace(qa.default_qa_settings("bert-base-uncased"),
                                   learning_rate=float(args.get("lr", 3e-4)), epochs=int(args.get("epochs", 3)),
                                   max_length=int(args.get("max_length", 160)),
                                   batch_size=int(args.get("batch_size", 8)),
                                   warmup_ratio=float(args.get("warmup", 0.1)),
                                   group_by_length=args.get("group_by_length") == "1",
                                   max_answer_length=int(args.get("max_answer_length", 30)),
                                   n_best=int(args.get("n_best", 20)))
    tokenizer = bc.load_tokenizer("bert-base-uncased")
    seed = int(args.get("seed", 0))   # the head's initialisation and the batch order; the notebook's is 0
    bc.set_seed(seed)
    model = bc.load_model("bert-base-uncased", AutoModelForQuestionAnswering)
    trained_on = ["train"] + ["validation"] * (args.get("validation") == "1") + ["drills"] * (args.get("drills") == "1")
    if "drills" in trained_on:   # data/qa/drills.txt: training-only questions on paragraphs dense with numbers
        squad["drills"] = qa.load_drills(squad["train"].features)
    features = squad.map(qa.prepare_train_features, batched=True, remove_columns=squad["train"].column_names,
                         fn_kwargs={"tokenizer": tokenizer, "max_length": settings.max_length,
                                    "stride": settings.stride})
    train = concatenate_datasets([features[split] for split in trained_on])
    arguments = training.training_arguments(settings, tempfile.mkdtemp(), eval_strategy="no",
                                            logging_strategy="no", disable_tqdm=True, seed=seed)
    trainer = qa.make_qa_trainer(model, tokenizer, arguments, train)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start

    def answers(questions: list[str], contexts: list[str]) -> list[str]:
        windows = qa.predict_windows(model, tokenizer, questions, contexts, settings.max_length, settings.stride,
                                     progress=False)
        return [qa.best_answer(w, c, settings.max_answer_length, settings.n_best).text
                for w, c in zip(windows, contexts)]

    validation = squad["validation"]
    validation_f1 = qa.per_question_scores(answers(validation["question"], validation["context"]),
                                           [a["text"] for a in validation["answers"]])["f1"].mean()
    test = squad["test"]
    gold = [a["text"] for a in test["answers"]]
    tuned = qa.per_question_scores(answers(test["question"], test["context"]), gold)
    lexical = qa.per_question_scores([qa.lexical_answer(q, c) for q, c in zip(test["question"], test["context"])],
                                     gold)
    gain = intervals.mean_interval(100 * (tuned["f1"] - lexical["f1"]))
    probe = json.loads((bc.paths.shipped_data_dir() / "qa" / "ask_probe.json").read_text())
    questions = [item["question"] for item in probe["questions"]]
    replies = answers(questions, [probe["context"]] * len(questions))
    right = sum(qa.reply_is_right(r, item["answers"]) for r, item in zip(replies, probe["questions"]))
    n_questions = sum(len(squad[split]) for split in trained_on)
    print(f"RESULT {args} train_questions={n_questions} windows={len(train)} training={seconds:.0f}s "
          f"validation_F1={100 * validation_f1:.1f} F1={100 * tuned['f1'].mean():.1f} EM={100 * tuned['em'].mean():.1f} "
          f"lexical={100 * lexical['f1'].mean():.1f} "
          f"F1-lexical={gain.value:+.1f} [{gain.low:+.1f}, {gain.high:+.1f}] "
          f"ask={right}/10")
    for question, reply in zip(questions, replies):
        print(f"  {question} -> {reply!r}")


if __name__ == "__main__":
    main(dict(argument.split("=", 1) for argument in sys.argv[1:]))

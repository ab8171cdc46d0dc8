"""The course's own banks: they load, cover the required topics, keep answers out of sight,
and every closed question's hashed key agrees with an independently written answer table.

The table below is the reviewer's copy of the answers (the banks only hold salted hashes).
A new closed question fails `test_answer_table_covers_every_closed_question` until its
answer is added here, so no key goes unchecked.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from bertcourse.quiz.bank import BANKS_DIR, Question, available_banks, load_bank
from bertcourse.quiz.computed import REGISTRY
from bertcourse.quiz.grading import grade

ANSWERS: dict[str, dict[str, object]] = {
    "00_start_here": {
        "bert_acronym": "Bidirectional Encoder Representations from Transformers",
        "bidirectional_context": 'Every layer lets "bank" attend to the words on both sides, '
                                 'including "water" after it',
        "why_not_left_to_right": "With unrestricted two-way attention each word could indirectly see the word it "
                                 "must predict, so the task would become trivial",
        "architecture_family": "Only the encoder stack",
        "encoder_only_traits": {"Self-attention has no causal mask, so each token can attend to every token",
                                "It outputs one contextual vector for every input token",
                                "It is adapted to a task by adding a small task-specific head and fine-tuning"},
        "base_layers": 12,
        "large_hidden": 1024,
        "large_heads": 16,
        "base_specs": "12 layers, hidden size 768, 12 heads, about 110M parameters",
        "large_parameters": 340,
        "mlm_rate": 15,
        "mlm_replacement": "80% become [MASK], 10% a random token, 10% stay unchanged",
        "mlm_why_mix": {"[MASK] never appears during fine-tuning, so always masking would create a mismatch "
                        "between pretraining and fine-tuning",
                        "Because the model cannot know which tokens were changed, it has to build a good "
                        "representation of every token"},
        "mask_token": ["[MASK]"],
    },
    "01_tokenization": {
        "subword_algorithm": ["WordPiece", "word piece"],
        "hash_prefix": "The piece continues the previous piece inside the same word",
        "special_tokens": {"[CLS] comes first; its final hidden state is used for sequence classification",
                           "[SEP] ends each segment and separates the two sentences of a pair",
                           "[PAD] fills shorter sequences up to the length of the batch"},
        "unk_token": ["[UNK]"],
        "attention_mask": "1 for real tokens and 0 for padding positions",
        "token_type_ids": "0 for [CLS], sentence A and the first [SEP]; 1 for sentence B and the last [SEP]",
        "max_length": 512,
        "vocab_size": 30522,
        "cased_uncased": "It lower-cases the text and strips accents before splitting it into pieces",
    },
    "02_architecture": {
        "embedding_sum": "It adds the token, position and segment embeddings, then applies LayerNorm and dropout",
        "attention_formula": "softmax(Q Kᵀ / √d_k) V",
        "sqrt_dk": "Dot products grow with d_k, and large scores saturate the softmax so gradients become tiny",
        "head_size": 64,
        "layer_parts": {"Multi-head self-attention",
                        "A residual connection followed by LayerNorm around each sublayer",
                        "A position-wise feed-forward network with a GELU activation"},
        "ffn_size": 3072,
        "ffn_ratio": 4,
        "layernorm_place": "After each residual addition, as LayerNorm(x + Sublayer(x))",
        "parameter_share": "In the 12 encoder layers together",
    },
    "03_pretraining": {
        "mask_probability": 15,
        "unchanged_token_loss": "The input keeps the original token, and the label at that position is the original "
                                "token, so it counts in the MLM loss",
        "minus_100": "The position was not chosen, and cross-entropy skips it (ignore_index)",
        "not_next_pairs": "Segment B is taken from a random place in another document",
        "not_next_label": 1,
        "never_chosen": {"[CLS]", "[SEP]", "[PAD]"},
        "pretraining_loss": "L = L_MLM + L_NSP, the plain sum of the two cross-entropies",
        "masked_logits": {"It gives the same loss as projecting every position, because unchosen positions have "
                          "label -100 and are ignored anyway",
                          "It saves most of the work of the largest matrix product in a small BERT, hidden size × "
                          "vocabulary size per position"},
        "unigram_baseline": "About 10% of the chosen positions keep their original token, so there the answer is in "
                            "the input and copying it scores; only the [MASK] positions show what the context supplies",
        "copy_baseline": 100,
        "nsp_chance": 50,
        "dynamic_masking": "So the model does not see the same masked positions again and again, which would let it "
                           "memorise them",
    },
    "04_finetuning": {
        "new_head_notice": "The encoder weights were loaded, but the checkpoint has no weights for the new task "
                           "head, so the head starts random and must be trained",
        "bert_learning_rate": "2e-5 to 5e-5",
        "warmup": "It raises the learning rate from 0 to its peak over the first steps, so the random head's early, "
                  "noisy gradients cannot wreck the pretrained weights",
        "dynamic_padding": {"Putting texts of similar length into the same batch reduces the padding per batch, so "
                            "each training step costs less",
                            "Each batch is padded only to the length of its own longest text"},
        "majority_macro_f1": "0.09",
        "why_macro_f1": "The classes are imbalanced, and macro-F1 weighs every class equally, so neglecting rare "
                        "classes such as surprise shows up",
        "frozen_features": "Only the logistic regression; the encoder's weights never change",
        "cls_token": ["[CLS]"],
        "test_split_once": "The validation split; the test split is used once, for the final numbers",
        "pretraining_buys": "The quality of pretraining, not the classification head, carries most of the "
                            "performance when labelled data is scarce",
    },
    "05_ner": {
        "iob2_reading": 4,
        "iob2_rule": "O I-ORG",
        "minus_100": "The loss ignores those positions, so each word is trained (and later read) through its first "
                     "subword only",
        "special_tokens_label": "-100",
        "token_accuracy_trap": "Token accuracy 0.83, entity F1 0",
        "recall_value": "0.5",
        "boundary_errors": '"New York City" as LOC',
        "aggregation_simple": "It merges adjacent tokens with the same predicted entity type into one entity with "
                              "character offsets",
        "uncased_cost": "It lower-cases the text, so capital letters, a strong clue to names, are lost",
    },
    "06_biobert": {
        "biobert_change": "It continued masked-language-model pretraining of BERT-Base on biomedical text, with the "
                          "same architecture and vocabulary",
        "same_splits": "They are identical",
        "fragmentation_meaning": "Pretraining gave the model little experience with such sequences of pieces, so it "
                                 "must learn their meaning from the few labelled examples",
        "fresh_head": {"The output projection to the vocabulary shares its weights with the pretrained input "
                       "embeddings",
                       "The MLM head's transform (dense layer and LayerNorm) and output bias start from random "
                       "values"},
        "mlm_loss_caveat": "The MLM model as a whole now predicts hidden biomedical tokens better; much of that is "
                           "the new head learning, so it says little about NER yet",
        "mention_weight": "0.017",
        "bootstrap_verdict": "This test set cannot tell the two apart",
        "why_not_compare_keys": "Both are served by the same MiniLM stand-in, so it would compare a model with itself",
    },
    "07_distillation": {
        "temperature_effect": "It flattens the distribution, so the small probabilities of the plausible wrong "
                              "classes become visible, while the most likely class stays the same",
        "t_squared": "Softening both distributions by T shrinks the soft term's gradients by about 1/T², so T² keeps "
                     "the soft and hard terms balanced whatever T is",
        "alpha_one": "Ordinary fine-tuning on the labels (cross-entropy), the teacher is ignored",
        "layer_init": "The kept layers already compute representations the next kept layer can read, so the "
                      "student starts close to a model that solves the task",
        "distilbert_layers": 6,
        "smaller_on_disk": {"Keeping fewer encoder layers", "Dynamic int8 quantization of the linear layers"},
        "embeddings_share": "The word-embedding table (vocabulary × hidden size) is kept whole and is about half of "
                            "MiniLM's parameters",
        "cut_from_pretrained": "A cut of the fine-tuned teacher would carry in its weights what the teacher learnt from "
                               "all the training labels, so the few-label students would not really have few labels",
        "transfer_gain_source": "Learning from the teacher on the unlabelled tweets helps, but this test set cannot say "
                                "that soft targets beat the teacher's top-class labels",
    },
    "08_question_answering": {
        "span_head_params": 770,
        "span_head_output": "A start logit and an end logit",
        "qa_loss": "The mean of the cross-entropy of the start position and the cross-entropy of the end position",
        "offsets_role": "To turn the answer's character span into token labels, and a predicted token span back "
                        "into context text",
        "only_second": "Only the context is shortened; cutting the question would change what is asked",
        "stride_role": "Consecutive windows share that many context tokens, so an answer cut at one edge is whole in "
                       "the next window",
        "cls_label": "Both point at position 0, the [CLS] token",
        "f1_value": "0.5",
        "em_vs_f1": "EM needs a normalised exact match; F1 gives partial credit for overlapping words, so F1 is never "
                    "below EM",
        "normalisation": {"Upper or lower case", "Punctuation", "The articles a, an and the"},
        "no_answer": "When the [CLS] score exceeds the best span's score by more than a threshold tuned on "
                     "validation data",
    },
    "09_embeddings_search": {
        "mean_pool_mask": "So that [PAD] positions do not count, and a sentence gets the same vector whatever it is "
                          "batched with",
        "raw_cls": "Nothing in its pretraining asked sentences with similar meanings to have close [CLS] vectors; "
                   "[CLS] only fed the next-sentence classifier",
        "anisotropy_meaning": "Its vectors all point in nearly the same direction, so a high cosine between two "
                              "sentences says little about their meaning",
        "cosine_unit": "Their dot product",
        "in_batch_negatives": "The positives of the other B - 1 pairs in the same batch",
        "contrastive_chance": "3.47",
        "control_run": "How much of the change comes from the real pairing rather than from training with the same "
                       "recipe at all",
        "bm25_wins": {"A query built around an error code such as F07",
                      "A query naming a product model number that appears in one document"},
        "mrr_by_hand": "0.417",
        "cross_encoder_rerank": "It reads the query and the document together, so nothing can be precomputed and "
                                "every document costs a full forward pass per query",
        "threshold_on_validation": "A threshold tuned on the test pairs would make the test accuracy optimistic: it "
                                   "would no longer measure how the choice generalises",
        "pair_segment_ids": "[CLS] A [SEP] B [SEP], segment id 0 up to and including the first [SEP] and 1 after it; "
                            "a pair that is too long loses tokens from its longer sentence first",
    },
}
MINIMUM_QUESTIONS = {"00_start_here": 8, "01_tokenization": 6, "02_architecture": 6, "03_pretraining": 11,
                     "04_finetuning": 10, "05_ner": 9, "06_biobert": 8, "07_distillation": 8,
                     "08_question_answering": 10,
                     "09_embeddings_search": 12}


def closed_questions() -> list:
    return [pytest.param(question, answers.get(question.id), id=f"{notebook}/{question.id}")
            for notebook, answers in ANSWERS.items()
            for question in load_bank(notebook).questions if question.type != "computed"]


def ids_of(question: Question, texts: set[str]) -> list[str]:
    found = [c.id for c in question.choices if c.text in texts]
    assert len(found) == len(texts), f"answer table text not among the choices of {question.id}"
    return found


def test_required_banks_exist_with_enough_questions():
    assert set(MINIMUM_QUESTIONS) <= set(available_banks())
    for notebook, minimum in MINIMUM_QUESTIONS.items():
        bank = load_bank(notebook)
        assert len(bank.questions) >= minimum
        assert all(q.hint.strip() for q in bank.questions)
    types = {q.type for q in load_bank("00_start_here").questions}
    assert types >= {"single", "multiple", "numeric", "text"}


def test_computed_questions_use_the_agreed_live_values():
    needs = {nb: {name for q in load_bank(nb).questions if q.type == "computed"
                  for name in REGISTRY[q.compute].needs} for nb in MINIMUM_QUESTIONS}
    assert needs == {"00_start_here": set(), "01_tokenization": {"tokenizer"}, "02_architecture": {"config"},
                     "03_pretraining": set(), "04_finetuning": set(), "05_ner": set(), "06_biobert": set(),
                     "07_distillation": {"config"}, "08_question_answering": set(), "09_embeddings_search": set()}


def test_answer_table_covers_every_closed_question():
    for notebook, answers in ANSWERS.items():
        closed = {q.id for q in load_bank(notebook).questions if q.type != "computed"}
        assert closed == set(answers), notebook


@pytest.mark.parametrize(("question", "answer"), closed_questions())
def test_key_accepts_the_answer_and_rejects_the_rest(question: Question, answer: object):
    if question.type == "single":
        right = ids_of(question, {answer})[0]
        assert grade(question, {"choice": right}).correct
        for choice in question.choices:
            if choice.id != right:
                assert not grade(question, {"choice": choice.id}).correct
    elif question.type == "multiple":
        right = ids_of(question, answer)
        assert grade(question, {"choices": right}).correct
        assert not grade(question, {"choices": right[:-1]}).correct
        wrong = [c.id for c in question.choices if c.id not in right]
        assert wrong, "a multiple-select question needs a wrong option"
        assert not grade(question, {"choices": [*right, wrong[0]]}).correct
    elif question.type == "numeric":
        value = Decimal(answer)
        for accepted in (value - question.tolerance, value, value + question.tolerance):
            assert grade(question, {"value": str(accepted)}).correct
        for rejected in (value - question.tolerance - 1, value + question.tolerance + 1):
            assert not grade(question, {"value": str(rejected)}).correct
    else:
        for spelling in answer:
            assert grade(question, {"value": f"  {spelling.upper()} "}).correct
        assert not grade(question, {"value": "BPE"}).correct


@pytest.mark.parametrize("notebook", sorted(ANSWERS))
def test_bank_files_hold_no_plain_answers(notebook):
    bank = load_bank(notebook)
    raw = (BANKS_DIR / f"{notebook}.yaml").read_text(encoding="utf-8")
    assert not re.search(r"^\s*-?\s*(correct|answer|answers):", raw, re.MULTILINE)
    for question in bank.questions:
        for place in (None, *question.choices):
            explanation = question.explanation_of(place)
            if explanation:
                assert explanation not in raw
        answer = ANSWERS[notebook].get(question.id)
        if question.type in ("numeric", "text"):
            for plain in answer if isinstance(answer, list) else [str(answer)]:
                visible = f"{question.text} {question.hint}"
                assert not re.search(rf"(?<![\w.]){re.escape(plain)}(?![\w])", visible, re.IGNORECASE), \
                    f"{question.id} shows its answer {plain}"

"""Lesson 01, tokenization: how text becomes WordPiece ids, and a vocabulary of our own.

Two jobs, both born in notebook 01:
- tables that show what a tokenizer did, one row per token. Every table function returns a
  `pandas.DataFrame` (Jupyter shows it, a test can compare it) built from the tokenizer's own
  output (ids, masks, segment ids, character offsets), never recomputed, so what you read is what
  the model receives. Notebook 06 reuses them for biomedical words.
- `train_wordpiece`: training a WordPiece vocabulary the way BERT's was made (compare one learned
  from the course corpus with BERT's 30,522 pieces); notebook 03 pretrains a small BERT on it.

Room: a lesson module. It imports only third-party libraries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# Continuation characters are trained as characters of their own, moved into the private-use
# planes: `ord(c) + _CONTINUATION` (see `train_wordpiece`). Characters beyond 0x1FFFF have no room
# there; words holding one are left out of training (they tokenize as [UNK] or by their pieces).
_CONTINUATION = 0xF0000
_LAST_MOVABLE = 0x1FFFF


def _mark_continuation(word: str) -> str:
    return word[0] + "".join(chr(_CONTINUATION + ord(c)) for c in word[1:])


def _wordpiece_name(piece: str) -> str:
    """A trained piece back in WordPiece spelling: a piece that starts inside a word gets `##`."""
    plain = "".join(chr(ord(c) - _CONTINUATION) if ord(c) >= _CONTINUATION else c for c in piece)
    return "##" + plain if ord(piece[0]) >= _CONTINUATION else plain


def train_wordpiece(texts: Iterable[str], vocab_size: int = 4000, lowercase: bool = True) -> PreTrainedTokenizerFast:
    """A BERT-style WordPiece tokenizer trained on `texts` (BERT normaliser and pre-tokeniser,
    `##` continuation prefix, `[CLS] A [SEP] B [SEP]` post-processing), wrapped for transformers.

    The same vocabulary every run. `tokenizers`' own WordPieceTrainer numbers the `##x` pieces in
    hash-map order and breaks ties between equally frequent merges by those numbers, so each run
    learns a slightly different vocabulary (huggingface/tokenizers#1794), and every model trained
    on it differs. Here the pair-merging trainer (WordPiece training is BPE's merge loop) sees each
    continuation character as a character of its own, so every symbol is in its sorted alphabet and
    ties break the same way; the pieces are then renamed to WordPiece's `##` spelling. The
    vocabulary is what WordPieceTrainer learns up to those ties: the plain form of every character,
    `##` forms of those seen inside words, then merges by pair frequency.
    """
    normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    sentences = [[word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))
                  if max(map(ord, word)) <= _LAST_MOVABLE] for text in texts]
    alphabet = sorted({c for words in sentences for word in words for c in word})
    merger = Tokenizer(models.BPE())
    merger.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, initial_alphabet=alphabet,
                                  show_progress=False)
    merger.train_from_iterator((" ".join(map(_mark_continuation, words)) for words in sentences), trainer=trainer)
    vocab = {piece if piece in SPECIAL_TOKENS else _wordpiece_name(piece): i for piece, i in merger.get_vocab().items()}
    tokenizer = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", continuing_subword_prefix="##"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_max_length=512,
                                   model_input_names=["input_ids", "token_type_ids", "attention_mask"])


def _row_tokens(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    return tokenizer.convert_ids_to_tokens(list(ids))


def encoding_table(tokenizer: Any, text: str, text_pair: str | None = None, **encode_kwargs: Any) -> pd.DataFrame:
    """One row per token of `tokenizer(text, text_pair, **encode_kwargs)`.

    Columns: `token`, `id`, `attention_mask`, `token_type_id` (segment), and, for fast
    tokenizers, `chars` (the character span the token came from, `(start, end)`) and `text`
    (that span of the input; empty for special and padding tokens).
    """
    fast = getattr(tokenizer, "is_fast", False)
    encoding = tokenizer(text, text_pair, return_offsets_mapping=fast, return_token_type_ids=True,
                         return_attention_mask=True, **encode_kwargs)
    ids = encoding["input_ids"]
    if ids and isinstance(ids[0], list):
        raise ValueError("encoding_table shows one sequence; use batch_table for a batch")
    table = pd.DataFrame({
        "token": _row_tokens(tokenizer, ids),
        "id": ids,
        "attention_mask": encoding["attention_mask"],
        "token_type_id": encoding["token_type_ids"],
    })
    if fast:
        sequence_ids = encoding.sequence_ids()
        spans, pieces = [], []
        for (start, end), sequence in zip(encoding["offset_mapping"], sequence_ids):
            source = text if sequence == 0 else (text_pair or "")
            spans.append((start, end) if sequence is not None else None)
            pieces.append(source[start:end] if sequence is not None else "")
        table["chars"] = spans
        table["text"] = pieces
    table.index.name = "position"
    return table


def batch_table(tokenizer: Any, texts: Sequence[str], field: str = "token", **encode_kwargs: Any) -> pd.DataFrame:
    """A padded batch as a grid: one row per text, one column per position.

    `field` picks what the cells show: `"token"`, `"input_ids"`, `"attention_mask"` or
    `"token_type_ids"`. Pass the same keyword arguments as to the tokenizer, e.g.
    `padding=True` or `truncation=True, max_length=8`.
    """
    encoding = tokenizer(list(texts), return_token_type_ids=True, return_attention_mask=True, **encode_kwargs)
    if field == "token":
        rows = [_row_tokens(tokenizer, ids) for ids in encoding["input_ids"]]
    elif field in ("input_ids", "attention_mask", "token_type_ids"):
        rows = [list(values) for values in encoding[field]]
    else:
        raise ValueError(f"field must be token, input_ids, attention_mask or token_type_ids, not {field!r}")
    width = max(len(row) for row in rows)
    table = pd.DataFrame([row + [""] * (width - len(row)) for row in rows])
    table.index = pd.Index([f"text {number}" for number in range(len(rows))])
    return table


def segmentation_table(words: Sequence[str], tokenizers: Mapping[str, Any]) -> pd.DataFrame:
    """How each tokenizer in `tokenizers` ({name: tokenizer}) splits each word.

    One row per word; for each tokenizer a column with the pieces (joined by spaces) and one
    with their number, so longer splits of rare words stand out.
    """
    rows = []
    for word in words:
        row: dict[str, Any] = {"word": word}
        for name, tokenizer in tokenizers.items():
            pieces = tokenizer.tokenize(word)
            row[name] = " ".join(pieces)
            row[f"{name} pieces"] = len(pieces)
        rows.append(row)
    return pd.DataFrame(rows).set_index("word")


def special_tokens_table(tokenizer: Any) -> pd.DataFrame:
    """The tokenizer's special tokens, their ids and what each is for."""
    roles = {
        "cls_token": "starts every input; its final vector summarises the sequence for classification",
        "sep_token": "ends each segment; separates the two sentences of a pair",
        "pad_token": "fills shorter inputs up to the batch length; masked out of attention",
        "unk_token": "stands for anything the vocabulary cannot spell",
        "mask_token": "hides a token during masked-language-model pretraining",
    }
    rows = []
    for attribute, role in roles.items():
        token = getattr(tokenizer, attribute, None)
        if token is not None:
            rows.append({"token": str(token), "id": tokenizer.convert_tokens_to_ids(str(token)), "role": role})
    return pd.DataFrame(rows).set_index("token")

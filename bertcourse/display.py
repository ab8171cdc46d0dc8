"""Tables that show what a tokenizer did, one row per token (notebook 01, reused later).

Every function returns a `pandas.DataFrame`, which Jupyter shows as a table and a test can
compare; nothing here prints. The tables are built from the tokenizer's own output (ids,
masks, segment ids, character offsets), never recomputed, so what you read is what the
model receives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd


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

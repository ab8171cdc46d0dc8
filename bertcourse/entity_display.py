"""Entities shown inline, the way an annotator sees them (notebooks 05 and 06).

Each entity becomes a coloured span whose *text* also says what it is — "[Ada Lovelace | PER]"
— so the display reads the same without colour (printed, colour-blind readers, screen
readers, the plain-text view nbval compares). Colours come from the Okabe-Ito palette, which
stays distinguishable under the common colour-vision deficiencies; the text is dark on a light
tint for contrast.

    show = highlight_words(tokens, tags)                    # from IOB2 tags, word by word
    show = highlight_text(text, ner_pipeline(text))         # from pipeline(..., aggregation_strategy=...)
    show = compare_tags(tokens, gold_tags, predicted_tags)  # gold and predicted, one above the other

Each returns an `EntityMarkup`: Jupyter renders its HTML, `str()` gives the bracketed text.

Room: a lesson module; imports `bertcourse.course` and other lesson modules, never tools or quiz.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from seqeval.metrics.sequence_labeling import get_entities

# Light tints of the Okabe-Ito colours (orange, sky blue, bluish green, yellow, reddish purple,
# blue, vermillion), assigned to entity types in the order they are first asked for.
PALETTE = ["#f9d9a8", "#bfe3f5", "#b3e6d6", "#f7f1a8", "#ecc9dd", "#b3d1ea", "#f5c6b0"]
KNOWN_TYPES = ["PER", "ORG", "LOC", "MISC", "Disease"]


def colour_for(label: str) -> str:
    """A fixed colour per entity type (the course's types first, then in order of appearance)."""
    if label not in KNOWN_TYPES:
        KNOWN_TYPES.append(label)
    return PALETTE[KNOWN_TYPES.index(label) % len(PALETTE)]


@dataclass(frozen=True)
class Piece:
    """A stretch of text, an entity when `label` is set."""

    text: str
    label: str | None = None
    note: str = ""  # extra hover text, e.g. the model's score


def _piece_html(piece: Piece) -> str:
    if piece.label is None:
        return html.escape(piece.text)
    title = piece.label + (f" ({piece.note})" if piece.note else "")
    return (f'<mark style="background: {colour_for(piece.label)}; color: #111; padding: 0 0.2em; '
            f'border-radius: 0.2em; border: 1px solid #666" title="{html.escape(title)}">'
            f'[{html.escape(piece.text)} <b>| {html.escape(piece.label)}</b>]</mark>')


def _piece_text(piece: Piece) -> str:
    return piece.text if piece.label is None else f"[{piece.text} | {piece.label}]"


class EntityMarkup:
    """Lines of text with entities marked; HTML in Jupyter, bracketed plain text otherwise."""

    def __init__(self, lines: Sequence[tuple[str, Sequence[Piece]]]) -> None:
        self.lines = [(caption, list(pieces)) for caption, pieces in lines]

    def labels(self) -> list[str]:
        return sorted({p.label for _, pieces in self.lines for p in pieces if p.label}, key=KNOWN_TYPES.index)

    def __str__(self) -> str:
        return "\n".join((f"{caption}: " if caption else "") + "".join(map(_piece_text, pieces))
                         for caption, pieces in self.lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = []
        for caption, pieces in self.lines:
            label = f'<span style="display: inline-block; min-width: 6em; font-weight: bold">{html.escape(caption)}</span>' if caption else ""
            rows.append(f'<div style="line-height: 2">{label}{"".join(map(_piece_html, pieces))}</div>')
        return "<div>" + "".join(rows) + "</div>"

    def __add__(self, other: EntityMarkup) -> EntityMarkup:
        return EntityMarkup(self.lines + other.lines)


def word_pieces(words: Sequence[str], tags: Sequence[str]) -> list[Piece]:
    """Words joined by spaces, each IOB2 entity (seqeval's reading of the tags) as one piece."""
    if len(words) != len(tags):
        raise ValueError(f"{len(words)} words but {len(tags)} tags")
    starts = {start: (kind, end) for kind, start, end in get_entities(list(tags))}
    pieces: list[Piece] = []
    position = 0
    while position < len(words):
        space = " " if pieces else ""
        if position in starts:
            kind, end = starts[position]
            if space:
                pieces.append(Piece(space))
            pieces.append(Piece(" ".join(words[position:end + 1]), kind))
            position = end + 1
        else:
            pieces.append(Piece(space + words[position]))
            position += 1
    return _merged(pieces)


def _merged(pieces: Iterable[Piece]) -> list[Piece]:
    """Adjacent plain pieces joined into one (smaller HTML, same text)."""
    merged: list[Piece] = []
    for piece in pieces:
        if merged and piece.label is None and merged[-1].label is None:
            merged[-1] = Piece(merged[-1].text + piece.text)
        else:
            merged.append(piece)
    return merged


def highlight_words(words: Sequence[str], tags: Sequence[str], caption: str = "") -> EntityMarkup:
    """A sentence given as words and IOB2 tags, entities marked."""
    return EntityMarkup([(caption, word_pieces(words, tags))])


def compare_tags(words: Sequence[str], gold: Sequence[str], predicted: Sequence[str]) -> EntityMarkup:
    """The same sentence twice: gold entities above, the model's below."""
    return EntityMarkup([("gold", word_pieces(words, gold)), ("predicted", word_pieces(words, predicted))])


def text_pieces(text: str, entities: Sequence[Mapping]) -> list[Piece]:
    """Pieces of `text` from character-offset entities, as `pipeline("ner", aggregation_strategy=...)`
    returns them: dicts with `start`, `end`, `entity_group` (or `entity`) and optionally `score`."""
    pieces: list[Piece] = []
    position = 0
    for entity in sorted(entities, key=lambda e: e["start"]):
        start, end = int(entity["start"]), int(entity["end"])
        if start < position:
            raise ValueError(f"overlapping entities at characters {start}-{end}")
        label = entity.get("entity_group") or entity["entity"]
        if start > position:
            pieces.append(Piece(text[position:start]))
        note = f"score {float(entity['score']):.2f}" if "score" in entity else ""
        pieces.append(Piece(text[start:end], label, note))
        position = end
    if position < len(text):
        pieces.append(Piece(text[position:]))
    return pieces


def highlight_text(text: str, entities: Sequence[Mapping], caption: str = "") -> EntityMarkup:
    """Raw text with the entities a pipeline found (character offsets) marked."""
    return EntityMarkup([(caption, text_pieces(text, entities))])


def legend(descriptions: Mapping[str, str]) -> EntityMarkup:
    """What each colour means: one marked example per entity type, e.g. {"PER": "person"}."""
    pieces: list[Piece] = []
    for label, description in descriptions.items():
        if pieces:
            pieces.append(Piece(" "))
        pieces.append(Piece(description, label))
    return EntityMarkup([("legend", pieces)])

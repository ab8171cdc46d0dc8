"""Plain text that fits a notebook's output area: lines wrapped at word boundaries, and tables
whose wide columns wrap inside their own column.

JupyterLab breaks a text output line that is wider than the output area wherever the area
ends, mid-word, and a table's columns then no longer line up. `WIDTH` columns fit the output
area of an 800 px wide JupyterLab window, so what the course prints (the lesson banner, the
`doctor` table, the instructor report) is laid out here to that width instead. A single word
longer than a line (a long path) is left whole rather than cut.

Room: course (`bertcourse.course`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

WIDTH = 80
_GAP = "  "
_NARROWEST = 12  # a column is not narrowed below this many characters


def wrap(text: str, indent: str = "  ", width: int = WIDTH) -> str:
    """`text` wrapped to `width` at spaces, continuation lines indented by `indent`."""
    return "\n".join(_lines(text, width, indent))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int = WIDTH) -> list[str]:
    """The lines of a table: a header, a rule, then the rows, columns two spaces apart. A column is
    as wide as its widest cell (its header wraps to that); while the table is wider than `width`,
    its widest column is narrowed (to no fewer than 12 characters) and its cells wrap onto more
    lines. A line break inside a cell starts a new line there; a word longer than its column
    sticks out of it on its own line."""
    # a header wraps to fit its column's content, not the other way round
    widths = [max(_longest_word(headers[i]), *(_widest(row[i]) for row in rows)) for i in range(len(headers))]
    while sum(widths) + len(_GAP) * (len(widths) - 1) > width:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= _NARROWEST:
            break
        widths[widest] -= 1
    lines = _row(headers, widths) + [_GAP.join("-" * w for w in widths)]
    for row in rows:
        lines += _row(row, widths)
    return lines


def _row(cells: Sequence[str], widths: list[int]) -> list[str]:
    wrapped = [_lines(cell, width) for cell, width in zip(cells, widths, strict=True)]
    height = max(len(lines) for lines in wrapped)
    return [_GAP.join((lines[i] if i < len(lines) else "").ljust(w) for lines, w in zip(wrapped, widths, strict=True))
            .rstrip() for i in range(height)]


def _lines(text: str, width: int, indent: str = "") -> list[str]:
    lines = []
    for paragraph in text.split("\n"):
        lines += textwrap.wrap(paragraph, width, subsequent_indent=indent, break_long_words=False,
                               break_on_hyphens=False) or [""]
    return lines


def _widest(text: str) -> int:
    return max(len(line) for line in text.split("\n"))


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)

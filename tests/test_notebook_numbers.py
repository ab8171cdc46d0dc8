"""Every number a lesson's text states is one the notebook shows, or is marked as coming from elsewhere.

Issue 30 found sentences whose numbers no cell produced ("adapts on 17k words" beside a cell that
printed 15,461; "about 40% cheaper", measured nowhere). This check reads each markdown cell of every
committed notebook and looks up each number it states in what the notebook has shown by then.

Where a number may come from (its *evidence*):
- the outputs (printed text, tables, text of displays; not plots) of every code cell above the markdown cell;
- the outputs of the code cells right below it, up to the next markdown cell: the text that introduces a
  cell may say what that cell prints ("on 15k words:" above the cell that prints 15,461);
- the source of the same code cells: a setting written in code (`epochs=40`, `lr=3e-4`) is shown to
  the learner as much as a printed one;
- every code cell (outputs and source) of a notebook the sentence names ("BERT's masking rule from notebook 03
  (15% ...)"): a number another lesson shows may be recalled, and is looked up there;
- the settings every lesson's bootstrap intervals share (`bertcourse.intervals`: 2,000 resamples, 95%).

A number needs no evidence when its sentence (a list item and a table row count as one) says where else it
comes from (the three places that notebook 00 names; README, "For course authors"):
- the word **quoted** (a published figure: "(quoted, not measured here)", with its source);
- a path under **benchmarks/** (a course benchmark measured it; the sentence names the script or its
  results file).

What counts as a number, and what does not (they would only make noise):
- digits, with thousands commas ("15,461"), decimals, a sign, scientific notation ("3e-4"), a percent
  sign, a times sign ("2.02×") or a k/M/B suffix ("15k", "0.5M"). Words ("two", "a tenth") are not read.
- not: integers from 0 to 10 (counts of layers, heads, pieces, steps in a list: too common to look up);
  years (1900-2099 written without a comma); numbers inside names ("L6", "bf16", "BERT-Base"), code
  spans, math, links' targets and HTML tags; text in quotation marks (a sentence of the data, a model's
  answer); list and heading numbering; lesson, section and cell references ("notebook 03", "section
  4.1"); version numbers ("Python 3.11", "transformers 5.23", "SQuAD 1.1").
How a number matches: as rounded. "0.4" matches a shown 0.42, "15k" matches 15,461 (but "17k" does
not), any number may be a proportion read in points or percent ("9.6" or "41%" match a shown 0.096 or 0.41),
"1,500" matches 1500 or `1_500`; signs are ignored ("−0.03" matches -0.03 and 0.03). An integer is exact:
"15,000" does not match 15,461 (write a rounded count as "15k"). Ranges are their two ends, each looked up.

It need not catch everything (a stated number may match an unrelated one shown earlier), but a number
that no cell shows and no sentence accounts for fails the test, with the cell and the sentence.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable

import nbformat
import pytest

from bertcourse import intervals

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

# A number as it is written: an optional sign, digits with thousands commas or plain, decimals, an exponent.
_NUMBER = r"(?P<sign>[-+−±]?)(?P<digits>\d{1,3}(?:,\d{3})+|\d+)(?P<decimals>\.\d+)?(?P<exponent>[eE][-+−]?\d+)?"
_SCALE = {"k": 1e3, "K": 1e3, "thousand": 1e3, "M": 1e6, "million": 1e6, "B": 1e9, "billion": 1e9}
TEXT_NUMBER = re.compile(
    rf"(?<![\w.\-/#@$]){_NUMBER}"
    r"(?:(?P<scale>[kKMB](?![\w])|\s(?:thousand|million|billion)\b)|(?P<percent>\s?%)|(?P<times>\s?[×x](?!\w)))?"
    r"(?![\w.]\w|[\w/])")
OUTPUT_NUMBER = re.compile(rf"(?<![\w.]){_NUMBER}(?:(?P<percent>\s?%)|(?P<scale>[kKMB])(?!\w))?")

# Spans whose numbers are not claims: fenced and inline code, math, links' targets, HTML tags and comments.
_NOT_PROSE = re.compile(r'```.*?```|`[^`\n]*`|"[^"]{1,300}"|“[^”]{1,300}”|\$\$.*?\$\$|\$[^$\n]+\$|\]\([^)\s]*\)|<!--.*?-->|<[^>\n]+>', re.S)
# A number right after one of these words refers to something rather than stating a quantity.
_REFERENCE = re.compile(
    r"(?:notebooks?|lessons?|sections?|§|cells?|figures?|tables?|appendix|chapter|equations?|eq\.|items?|issues?"
    r"|python|torch|pytorch|transformers|tokenizers|squad|version|v\.?)\s+(?:\d+(?:\.\d+)*(?:,\s*|\s+and\s+|\s*[-–]\s*))*$",
    re.I)
_LIST_OR_HEADING = re.compile(r"^(\s*(?:#+\s+|[-*+]\s+)?)(\d+(?:\.\d+)*)([.)]?\s|\s·)", re.M)
_SENTENCE_END = re.compile(r"(?<!\bal)(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bcf)[.!?](?=\s+[A-Z*_(\[\"“])|\n\s*\n|\n(?=\s*(?:[-*+]|\d+\.|\|)\s)")
CITED_NOTEBOOK = re.compile(r"\bnotebooks?\s+(\d\d)\b(?:\s*(?:,|and|or)\s*(\d\d)\b)*", re.I)
MARKERS = re.compile(r"\bquoted\b|benchmarks/", re.I)
_HTML_NOISE = re.compile(r"<(style|script)\b.*?</\1>|<[^>]+>", re.S | re.I)
# Settings every lesson's intervals share, set once in the package and explained in the text, not printed.
COURSE_SETTINGS = [float(intervals.RESAMPLES), intervals.LEVEL]
YEARS = range(1900, 2100)
SMALL = 10


@dataclass(frozen=True)
class Stated:
    """One number of a markdown cell: as written, and each value it may stand for with its rounding
    (half a unit of its last written digit)."""

    text: str
    readings: tuple[tuple[float, float], ...]
    sentence: str
    cites: tuple[str, ...] = ()

    def shown_in(self, shown: list[float]) -> bool:
        return any(abs(abs(number) - value) <= tolerance * (1 + 1e-9)
                   for value, tolerance in self.readings for number in shown)


@dataclass(frozen=True)
class Flag:
    """A number of a markdown cell that no cell above (or the cells it introduces) shows."""

    notebook: str
    cell: int
    number: str
    sentence: str

    def __str__(self) -> str:
        return f"{self.notebook} cell {self.cell}: {self.number!r} in: {self.sentence}"


def _magnitude(match: re.Match[str]) -> tuple[float, float]:
    """The value of a written number and half a unit of its last written digit (its rounding)."""
    digits = match["digits"].replace(",", "")
    decimals = match["decimals"] or ""
    exponent = int((match["exponent"] or "e0")[1:].replace("−", "-"))
    value = float(digits + decimals) * 10.0 ** exponent
    return value, 0.5 * 10.0 ** (exponent - max(len(decimals) - 1, 0))


def shown_numbers(text: str) -> list[float]:
    """Every number in an output or a code cell's source: a percentage also as a fraction, "22.7M" also as
    22,700,000."""
    numbers = []
    for match in OUTPUT_NUMBER.finditer(re.sub(r"(?<=\d)_(?=\d)", "", text)):
        value, _ = _magnitude(match)
        numbers.append(value)
        if match["percent"]:
            numbers.append(value / 100)
        if match["scale"]:
            numbers.append(value * _SCALE[match["scale"]])
    return numbers


def _prose(source: str) -> str:
    """The markdown with its non-prose spans blanked (same length, so offsets still point into it)."""
    blank = _NOT_PROSE.sub(lambda match: re.sub(r"\S", " ", match[0]), source)
    return _LIST_OR_HEADING.sub(lambda match: match[1] + " " * len(match[2]) + match[3], blank)


def _sentences(source: str) -> list[tuple[int, int]]:
    """Start and end offsets of each sentence (list items and table rows count as sentences)."""
    bounds, start = [], 0
    for match in _SENTENCE_END.finditer(source):
        bounds.append((start, match.end()))
        start = match.end()
    return bounds + [(start, len(source))]


def stated_numbers(source: str) -> list[Stated]:
    """The numbers a markdown cell states and would need evidence for (see the module docstring)."""
    prose = _prose(source)
    stated = []
    for start, end in _sentences(source):
        sentence = source[start:end]
        if MARKERS.search(sentence):
            continue
        cites = tuple(re.findall(r"\d\d", " ".join(match[0] for match in CITED_NOTEBOOK.finditer(sentence))))
        for match in TEXT_NUMBER.finditer(prose, start, end):
            value, tolerance = _magnitude(match)
            plain_integer = not (match["decimals"] or match["exponent"] or match["scale"])
            if plain_integer and (value <= SMALL or ("," not in match["digits"] and value in YEARS)):
                continue
            if _REFERENCE.search(prose[max(start, match.start() - 40):match.start()]):
                continue
            if match["scale"]:
                scale = _SCALE[match["scale"].strip()]
                value, tolerance = value * scale, tolerance * scale
            readings = ((value, tolerance), (value / 100, tolerance / 100))   # 9.6 (points) for a shown 0.096
            stated.append(Stated(match[0].strip(), readings, " ".join(sentence.split()), cites))
    return stated


def _cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _output_text(cell: dict) -> str:
    """What a code cell's outputs show as text: streams and the text forms of results and displays."""
    parts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            parts.append(_cell_text({"source": output["text"]}))
        for kind, data in output.get("data", {}).items():
            if kind.startswith("text/"):
                text = _cell_text({"source": data})
                parts.append(_HTML_NOISE.sub(" ", text) if kind == "text/html" else text)
    return "\n".join(parts)


def _evidence(cells: list[dict]) -> list[list[float]]:
    """The numbers each cell shows: a code cell's source and outputs; nothing for a markdown cell."""
    return [shown_numbers(_cell_text(cell) + "\n" + _output_text(cell)) if cell["cell_type"] == "code" else []
            for cell in cells]


@cache
def notebook_numbers(notebook_id: str) -> list[float]:
    """Every number any code cell of the committed notebook `NN_...` shows (none for an unknown id)."""
    return [number for path in NOTEBOOK_DIR.glob(f"{notebook_id}_*.ipynb")
            for cell_numbers in _evidence(_read(path)["cells"]) for number in cell_numbers]


def unsupported_numbers(notebook: dict, name: str,
                        cited: Callable[[str], list[float]] = notebook_numbers) -> list[Flag]:
    """The stated numbers of each markdown cell that its evidence (module docstring) does not show;
    `cited` gives the numbers of another notebook the sentence names, by its two-digit id."""
    cells = notebook["cells"]
    evidence = _evidence(cells)
    flags, shown_above = [], list(COURSE_SETTINGS)
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            shown_above += evidence[index]
            continue
        introduced = []
        for later in range(index + 1, len(cells)):
            if cells[later]["cell_type"] == "markdown":
                break
            introduced += evidence[later]
        shown = shown_above + introduced
        flags += [Flag(name, index, number.text, number.sentence) for number in stated_numbers(_cell_text(cell))
                  if not number.shown_in(shown) and not any(number.shown_in(cited(other)) for other in number.cites)]
    return flags


@cache
def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_every_number_the_text_states_is_shown_or_marked(path: Path) -> None:
    flags = unsupported_numbers(_read(path), path.stem)
    assert not flags, (
        "numbers the text states that no cell above (or the cell it introduces) shows: fix the text, or say in "
        "the sentence that they are quoted or name the benchmarks/ file\n" + "\n".join(str(flag) for flag in flags))


def _synthetic(markdown: str, printed: str = "biomedical corpus: 144 documents, 15,461 words for training",
               code: str = "corpus = load('pubmed')") -> dict:
    """A two-cell notebook: a code cell that printed `printed`, then a markdown cell saying `markdown`."""
    cell = nbformat.v4.new_code_cell(code, outputs=[nbformat.v4.new_output("stream", text=printed + "\n")])
    return nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_markdown_cell(markdown)])


@pytest.mark.parametrize("markdown, absent", [
    ("The model adapts on 17k words of biomedical text.", ["17k"]),                     # issue 30, item 11
    ("A masked-only step is about 40% cheaper.", ["40%"]),                              # issue 30, item 12
    ("It read 15,461 words, 15k words or 15.5 thousand words in 144 documents.", []),
    ("About 15,000 words (a round count is written 15k) in 140 documents.", ["15,000", "140"]),
    ("A masked-only step is about 40% cheaper (quoted from Smith et al., 2020).", []),
    ("A masked-only step is about 40% cheaper (`benchmarks/results_06.md`).", []),
    ("Quoted: BERT-Base has 110M parameters. Ours has 22.7M.", ["22.7M"]),
    ("Notebook 03, section 4.1 (2019), step 3, Python 3.11: nothing to look up. Neither is `step=4000`.", []),
    ("1. A numbered item\n2. another, in a list of 12 things", ["12"]),
    ('The data says "Jordan scored 31 points" and 31 more.', ["31"]),
    ("Over 144 documents, about 0.17 of them.", ["0.17"]),
])
def test_the_check_flags_exactly_the_numbers_no_cell_shows(markdown: str, absent: list[str]) -> None:
    assert [flag.number for flag in unsupported_numbers(_synthetic(markdown), "synthetic")] == absent


def test_numbers_come_from_cells_above_and_from_the_cells_the_text_introduces() -> None:
    """"0.41" is printed by the cell right after the text (fine), or after a later markdown cell (not)."""
    introduced = _synthetic("Accuracy is 0.41:", printed="accuracy 0.412")
    introduced.cells.reverse()
    assert unsupported_numbers(introduced, "synthetic") == []
    later = _synthetic("Accuracy is 0.41.", printed="accuracy 0.412")
    later.cells = [later.cells[1], nbformat.v4.new_markdown_cell("Now train."), later.cells[0]]
    assert [flag.number for flag in unsupported_numbers(later, "synthetic")] == ["0.41"]
    written_in_code = _synthetic("We train for 40 epochs at 3e-4.", code="train(epochs=40, lr=3e-4)")
    assert unsupported_numbers(written_in_code, "synthetic") == []


def test_a_number_may_be_recalled_from_the_notebook_the_sentence_names() -> None:
    def cited(notebook_id: str) -> list[float]:
        return [3000.0] if notebook_id == "03" else []

    recalled = _synthetic("Notebook 03's BERT has a 3,000-piece vocabulary. Ours has 3,000 too.")
    assert [flag.number for flag in unsupported_numbers(recalled, "synthetic", cited)] == ["3,000"]
    wrong_notebook = _synthetic("Notebook 04's BERT has a 3,000-piece vocabulary.")
    assert [flag.number for flag in unsupported_numbers(wrong_notebook, "synthetic", cited)] == ["3,000"]


def test_the_check_reads_every_notebook_fast() -> None:
    start = time.perf_counter()
    for path in NOTEBOOKS:
        unsupported_numbers(_read(path), path.stem)
    assert time.perf_counter() - start < 2

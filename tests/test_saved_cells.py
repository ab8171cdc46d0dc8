"""Key ideas live in notebook cells; later lessons and the CLI import the same code from the package.

A code cell whose first line is `#@save bertcourse.<module>` defines functions or classes that
must be identical to the ones in that module (the d2l convention): the learner reads and can
change the code in the notebook, and this test stops the two copies drifting apart. Each such
module lists what it writes out (`SAVED_IN_NOTEBOOK`), so a cell that goes missing is caught too.
`bertcourse dev sync-saved` repairs drift from the package side.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import nbformat
import pytest

import bertcourse
from bertcourse.tools import dev

NOTEBOOKS = sorted(dev.NOTEBOOK_DIR.glob("*.ipynb"))


def _saved_names() -> dict[str, set[tuple[str, str]]]:
    """module -> {(definition name, notebook)} found in the notebooks' #@save cells."""
    found: dict[str, set[tuple[str, str]]] = {}
    for path in NOTEBOOKS:
        for _, module, cell in dev.saved_cells(path):
            found.setdefault(module, set()).update((name, path.stem) for name, _, _ in dev._definitions(cell.source))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_saved_cells_match_the_package(path: Path) -> None:
    drift = dev.find_drift([path])
    assert not drift, "\n".join(f"cell {item.cell}: {item.problem}" for item in drift) + (
        "\n(edit the package, then run `bertcourse dev sync-saved`)")


def test_every_written_out_definition_has_its_cell_and_is_listed() -> None:
    found = _saved_names()
    lesson_modules = [f"bertcourse.{info.name}" for info in pkgutil.iter_modules(bertcourse.__path__) if not info.ispkg]
    for module_name in sorted(set(lesson_modules) | set(found)):
        listed = getattr(importlib.import_module(module_name), "SAVED_IN_NOTEBOOK", {})
        assert set(listed.items()) == found.get(module_name, set()), (
            f"{module_name}.SAVED_IN_NOTEBOOK and the notebooks' `#@save {module_name}` cells disagree")


def test_drift_is_found_in_decorated_functions_and_constants(tmp_path: Path) -> None:
    """The checker itself: a decorated function keeps its decorator, and a changed constant is caught."""
    notebook = nbformat.v4.new_notebook()
    source = ("#@save bertcourse.pretraining\nIS_NEXT, NOT_NEXT = 1, 0\n\n\n"
              "@torch.no_grad()\ndef mask_tokens(ids):\n    return ids\n")
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    path = tmp_path / "99_probe.ipynb"
    nbformat.write(notebook, path)
    problems = {item.name: item.problem for item in dev.find_drift([path])}
    assert set(problems) == {"mask_tokens", "IS_NEXT", "NOT_NEXT"}, problems
    assert [name for name, first, _ in dev._definitions(source)] == ["mask_tokens"]
    assert dev._definitions(source)[0][1] == 5          # starts at the decorator line, not at `def`
    dev.sync_saved([path])
    synced = nbformat.read(path, as_version=4).cells[0].source
    assert "@torch.no_grad()" not in synced and "def mask_tokens(ids):\n    return ids" not in synced
    assert [item.name for item in dev.find_drift([path])] == ["IS_NEXT", "NOT_NEXT"]   # constants are reported, not rewritten

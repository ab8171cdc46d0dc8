"""Key ideas live in notebook cells; later lessons and the CLI import the same code from the package.

A code cell whose first line is `#@save bertcourse.<module>` defines functions or classes that
must be identical to the ones in that module (the d2l convention): the learner reads and can
change the code in the notebook, and this test stops the two copies drifting apart.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
SAVE_MARK = re.compile(r"^#@save (bertcourse(?:\.\w+)+)\s*$")


def saved_definitions() -> list[tuple[str, str, str, str]]:
    """(notebook, module, name, source) for every definition in a `#@save` cell."""
    found = []
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            lines = cell.source.splitlines()
            if cell.cell_type != "code" or not lines or not SAVE_MARK.match(lines[0]):
                continue
            module = SAVE_MARK.match(lines[0]).group(1)
            tree = ast.parse(cell.source)
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    found.append((path.name, module, node.name, ast.get_source_segment(cell.source, node)))
    return found


@pytest.mark.parametrize(("notebook", "module", "name", "source"), saved_definitions(),
                         ids=lambda value: value if isinstance(value, str) and "\n" not in value else "")
def test_saved_cell_matches_package(notebook: str, module: str, name: str, source: str) -> None:
    packaged = getattr(importlib.import_module(module), name, None)
    assert packaged is not None, f"{notebook}: {name} is marked #@save but {module} has no {name}"
    assert inspect.getsource(packaged).strip() == source.strip(), (
        f"{notebook}: {name} differs from its copy in {module}; edit both or re-copy the cell")

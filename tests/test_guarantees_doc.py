"""docs/guarantees.md names, for each promise, the test that shows it: those tests must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_named_in_the_guarantees_exists() -> None:
    doc = (ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8")
    named, module = [], None
    for match in re.finditer(r"`(?:(test_\w+\.py))?::(test_\w+)`", doc):
        module = match.group(1) or module  # "`::name`" continues the last module named
        named.append((module, match.group(2)))
    assert len(named) > 30
    missing = [f"{module}::{name}" for module, name in named
               if f"def {name}(" not in (ROOT / "tests" / module).read_text(encoding="utf-8")]
    assert missing == []

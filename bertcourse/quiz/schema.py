"""JSON Schema checks that answer with one short, located sentence.

Banks, authoring entries and learners' exports are all checked against a JSON Schema.
`fastjsonschema` compiles each schema once into a plain function, which keeps importing
the quiz (and so every quiz cell and CLI call) fast; its first error is turned into
"choices[1].key: must match pattern ...", which callers prefix with the file and question.
"""

from __future__ import annotations

from typing import Any

import fastjsonschema


class SchemaCheck:
    """A compiled schema; `problem(value)` is None when `value` conforms."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self._validate = fastjsonschema.compile(schema)

    def problem(self, value: Any) -> str | None:
        try:
            self._validate(value)
        except fastjsonschema.JsonSchemaValueException as error:
            where = error.name.removeprefix("data").lstrip(".")
            what = error.message.removeprefix(error.name).strip()
            return f"{where}: {what}" if where else what
        return None

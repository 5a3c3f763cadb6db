"""The markers a model-answer shape puts on its fields (inside `Annotated[...]`) to
say what the answer engine (shared/ai/answers.py) may do with a faulty value;
their meaning is documented there. A module of their own so that declaring a
model (shared/<feature>/models.py, imported at start-up) does not load the engine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema


class _Mark:
    """Adds `x-` keys to the field's JSON schema; `tool_schema` removes them."""

    def __init__(self, **keys: Any):
        self.keys = keys

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(self.keys)
        return schema

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.keys})"


ESSENTIAL = _Mark(**{"x-essential": True})

# Capitalised: inside Annotated[...] they read like the types they qualify.


def Vocabulary(name: str) -> _Mark:
    return _Mark(**{"x-vocabulary": name})


def Aliases(aliases: Mapping[str, Iterable[str]]) -> _Mark:
    return _Mark(**{"x-aliases": {key: list(names) for key, names in aliases.items()}})


def Clamp(slack: float) -> _Mark:
    return _Mark(**{"x-clamp": slack})

"""Pure reading of an organisation's stored data (no I/O)."""

from __future__ import annotations

from typing import Any


def org_values_of(values_framework: Any) -> list[str]:
    """The organisation's values as short strings, from the shapes values_framework takes
    (a list of names, a list of {name, description}, or {"values": [...]})."""
    if isinstance(values_framework, dict):
        inner = values_framework.get("values")
        values_framework = inner if inner is not None else list(values_framework.keys())
    values = []
    for item in values_framework if isinstance(values_framework, list) else []:
        if isinstance(item, dict):
            item = item.get("name") or item.get("value") or item.get("title")
        if isinstance(item, str) and item.strip():
            values.append(item.strip()[:200])
    return values[:50]

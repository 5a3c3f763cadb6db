"""Structured answers from the AI model: the schema a call sends, and the safe
repairs made to an answer before it is judged.

Every structured answer is a pydantic model (AnswerAssessment,
ExtractedRequirements, ParsedResume, ShortlistRanking, ModelScoring). The same
model gives the tool schema sent to the provider (`tool_schema`) and validates
the answer (`judge`). Its fields declare, once, what may be done with a faulty
answer (markers from shared/ai/marks.py, used inside `Annotated[...]`):

    ESSENTIAL            the answer is useless without this field; missing or
                         invalid means the one retry, then the 502. A field that
                         contains an essential one is essential too.
    Vocabulary("name")   a closed list given per call (`vocabularies={"name": ...}`:
                         rubric keys, competency keys, applicant ids), sent as `enum`.
    Aliases({...})       other spellings the prompt itself uses for an enum value.
    Clamp(slack)         a number whose scale the prompt states unambiguously: a
                         value at most `slack` outside it is clamped, further out
                         it is invalid (the model used another scale).

What is repaired (each repair is reported, the adapter logs it as `ai.repaired`):
a string over its limit is clipped at a word boundary; an enum value differing
only in case, spacing or separators (or an alias) is mapped; a number sent as
text ("7", "7.5", "8/10", "85%") is read; a whole-number field gets its decimal
rounded; a key spelt differently is renamed; unknown keys are dropped; a single
value where a list is expected is wrapped; a list over its limit is cut; an
invalid item of a list of optional items is removed; an invalid optional field
is left out (its default applies). None of this happens to an essential field
except mapping, reading numbers and clamping. A required field without a
default cannot be left out: its object is removed instead when that is
optional, else the answer fails. Text around the JSON (a markdown fence, prose
after it) and arguments written as the message instead of a tool call are read
when there is exactly one JSON object.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    pass

MISFIT = "The answer does not match the schema: "
Vocabularies = Mapping[str, "Mapping[str, str | Iterable[str] | None] | Iterable[str]"]
_Path = tuple[int | str, ...]  # a place in an answer: keys and list indexes
_Frozen = tuple[tuple[str, str, tuple[Any, ...]], ...]  # vocabularies as a cache key
T = TypeVar("T", bound=BaseModel)


# --- outcomes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repair:
    field: str  # a dotted path of the schema's names and list indexes; "(answer)" for the whole
    action: str  # what was done; never the answer's text


class AnswerRejected(ValueError):
    """The answer cannot be used as it is; the message says why (sent back to the model)."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


# --- the schema --------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _base_spec(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    inlined: dict[str, Any] = _inline(schema, definitions, ())
    return inlined


def _inline(node: Any, definitions: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, definitions, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            raise ValueError(f"recursive answer models are not supported ({name})")
        target = _inline(definitions[name], definitions, (*seen, name))
        extra = {key: value for key, value in node.items() if key != "$ref"}
        return {**target, **_inline(extra, definitions, seen)}
    return {
        key: (value if key in ("enum", "default", "required", "x-aliases") else _inline(value, definitions, seen))
        for key, value in node.items()
        if not (key == "title" and isinstance(value, str))
    }


def answer_spec(model: type[BaseModel], vocabularies: Vocabularies | None = None) -> dict[str, Any]:
    """The model's schema with references inlined, markers kept, the call's
    vocabularies filled in as `enum` (and their labels as aliases) and
    essential-ness carried up to every field containing an essential one.
    A field whose vocabulary is not given stays free text. Cached: read only."""
    return _spec(model, _frozen(vocabularies))


def prepared(
    model: type[BaseModel], vocabularies: Vocabularies | None = None, *, strict: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(answer_spec, tool_schema) for a call, cached: both read only."""
    return _prepared(model, _frozen(vocabularies), strict)


@lru_cache(maxsize=256)
def _prepared(model: type[BaseModel], frozen: _Frozen, strict: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = _spec(model, frozen)
    return spec, tool_schema(spec, strict=strict)


@lru_cache(maxsize=256)
def _spec(model: type[BaseModel], frozen: _Frozen) -> dict[str, Any]:
    spec = copy.deepcopy(_base_spec(model))
    _fill(spec, {name: dict(entries) if kind == "map" else list(entries) for name, kind, entries in frozen})
    _carry_essential(spec)
    return spec


def _frozen(vocabularies: Vocabularies | None) -> _Frozen:
    """The vocabularies as a cache key."""
    frozen: list[tuple[str, str, tuple[Any, ...]]] = []
    for name, entries in sorted((vocabularies or {}).items()):
        if isinstance(entries, Mapping):
            frozen.append(
                (
                    name,
                    "map",
                    tuple(
                        (key, label if label is None or isinstance(label, str) else tuple(label))
                        for key, label in entries.items()
                    ),
                )
            )
        else:
            frozen.append((name, "list", tuple(entries)))
    return tuple(frozen)


def _fill(node: Any, vocabularies: Vocabularies) -> None:
    if isinstance(node, list):
        for item in node:
            _fill(item, vocabularies)
        return
    if not isinstance(node, dict):
        return
    name = node.get("x-vocabulary")
    if name is not None and name in vocabularies:
        entries = vocabularies[name]
        if isinstance(entries, Mapping):
            keys = list(entries)
            aliases = {
                key: ([label] if isinstance(label, str) else list(label or [])) for key, label in entries.items()
            }
        else:
            keys, aliases = list(entries), {}
        node["enum"] = keys
        node.pop("maxLength", None)  # the enum says it all
        node.pop("minLength", None)
        node["x-aliases"] = {**node.get("x-aliases", {}), **{k: v for k, v in aliases.items() if v}}
    for value in node.values():
        _fill(value, vocabularies)


def _carry_essential(node: dict[str, Any]) -> bool:
    children = [*node.get("properties", {}).values(), *node.get("anyOf", [])]
    if isinstance(node.get("items"), dict):
        children.append(node["items"])
    inner = [_carry_essential(child) for child in children]
    if any(inner):
        node["x-essential"] = True
    return bool(node.get("x-essential"))


# Keywords Azure OpenAI's strict mode does not accept (its documented list; OpenAI
# accepts some of them since 2025, see docs/AI.md): sent as description text instead.
_DESCRIBED_ONLY = (
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
)


def tool_schema(spec: dict[str, Any], *, strict: bool = True) -> dict[str, Any]:
    """The tool's `parameters` for the provider. Always: every object lists all
    its properties in `required` and has `additionalProperties: false`, limits
    are repeated in the description, no titles or defaults. With `strict`, the
    keywords strict mode refuses are left out (the description keeps them)."""
    parameters = _provider_node(spec, strict)
    parameters.pop("description", None)  # the model's docstring: notes for developers; the tool has its own
    return parameters


def _provider_node(node: dict[str, Any], strict: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-") or key in ("default", "title", "description", "required"):
            continue
        if strict and key in _DESCRIBED_ONLY:
            continue
        if key == "properties":
            value = {name: _provider_node(child, strict) for name, child in value.items()}
        elif key == "items" and isinstance(value, dict):
            value = _provider_node(value, strict)
        elif key == "anyOf":
            value = [_provider_node(option, strict) for option in value]
        out[key] = value
    if "properties" in node:
        out["required"] = list(node["properties"])
        out["additionalProperties"] = False
    description = _sentences(node.get("description", ""), _limits_text(node))
    if description:
        out["description"] = description
    return _simple_nullable(out)


def _simple_nullable(node: dict[str, Any]) -> dict[str, Any]:
    """anyOf [{"type": T}, {"type": "null"}] as {"type": [T, "null"]}, the form
    the providers' strict-mode documentation shows."""
    options = node.get("anyOf")
    if not options or len(options) != 2 or {"type": "null"} not in options:
        return node
    other = next(option for option in options if option != {"type": "null"})
    if not isinstance(other.get("type"), str) or set(other) - {"type", "description", *_DESCRIBED_ONLY}:
        return node
    merged = {key: value for key, value in node.items() if key != "anyOf"}
    description = _sentences(merged.pop("description", ""), other.get("description", ""))
    merged = {**{k: v for k, v in other.items() if k != "description"}, **merged, "type": [other["type"], "null"]}
    if description:
        merged["description"] = description
    return merged


def _sentences(*texts: str) -> str:
    parts = [" ".join(text.split()) for text in texts if text and text.strip()]
    return " ".join(part if part[-1] in ".!?" else part + "." for part in parts)


def _limits_text(node: dict[str, Any]) -> str:
    parts = []
    low, high = node.get("minLength"), node.get("maxLength")
    if high is not None:
        parts.append(f"At most {high} characters" + (", not empty" if low else "") + ".")
    elif low:
        parts.append("Not empty.")
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None and high is not None:
        parts.append(f"From {_num(low)} to {_num(high)}.")
    elif low is not None:
        parts.append(f"At least {_num(low)}.")
    elif high is not None:
        parts.append(f"At most {_num(high)}.")
    low, high = node.get("minItems"), node.get("maxItems")
    if low and high is not None:
        parts.append(f"{low} to {high} items.")
    elif high is not None:
        parts.append(f"At most {high} items.")
    elif low:
        parts.append(f"At least {low} item{'s' if low > 1 else ''}.")
    if node.get("format"):
        parts.append(f"Format: {node['format']}.")
    return " ".join(parts)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --- reading the arguments out of the model's message -------------------------------------------

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
_WRAPPERS = ("arguments", "parameters")


def read_arguments(
    tool_name: str, calls: list[tuple[str, str | None]], content: str | None, expected: Iterable[str] = ()
) -> tuple[dict[str, Any], list[Repair]]:
    """The answer's JSON object: the first call of `tool_name`, else (when the model
    wrote the arguments as its message) the one JSON object in the text."""
    missing = f"No call to the tool {tool_name} was made"
    named = [arguments for name, arguments in calls if name == tool_name]
    if named:
        found, repairs = json_object(named[0] or "", "The tool arguments")
    elif calls or not (content or "").strip():
        raise AnswerRejected(missing)
    else:
        try:
            found, repairs = json_object(content or "", "The message")
        except AnswerRejected:
            raise AnswerRejected(missing) from None
        repairs.append(Repair("(answer)", "arguments read from the message text instead of a tool call"))
    return _unwrapped(found, tool_name, set(expected), repairs), repairs


def _unwrapped(found: dict[str, Any], tool_name: str, expected: set[str], repairs: list[Repair]) -> dict[str, Any]:
    """{"name": tool, "arguments": {...}} (a call written as text) or {tool: {...}}."""
    wrappers = [key for key in (*_WRAPPERS, tool_name) if key in found and key not in expected]
    if len(wrappers) == 1 and set(found) <= {"name", *wrappers} and found.get("name", tool_name) == tool_name:
        inner = found[wrappers[0]]
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except ValueError:
                return found
        if isinstance(inner, dict):
            repairs.append(Repair("(answer)", f"arguments taken out of a {wrappers[0]!r} wrapper"))
            return inner
    return found


def json_object(text: str, what: str = "The answer") -> tuple[dict[str, Any], list[Repair]]:
    """One JSON object from a model's text: plain, in a markdown fence, or with
    prose around it. Two objects are ambiguous and rejected."""
    repairs: list[Repair] = []
    text = text.strip()
    try:
        found = json.loads(text) if text else None
    except ValueError:
        found = None
    if found is None:
        fences = [block.strip() for block in _FENCE.findall(text)]
        if len(fences) == 1 and fences[0].startswith("{"):
            repairs.append(Repair("(answer)", "JSON taken out of a markdown code fence"))
            text = fences[0]
        found = _object_in_prose(text, what, repairs)
    if isinstance(found, str):  # JSON encoded twice
        try:
            inner = json.loads(found)
        except ValueError:
            inner = None
        if isinstance(inner, dict):
            repairs.append(Repair("(answer)", "arguments decoded from a JSON string"))
            found = inner
    if not isinstance(found, dict):
        raise AnswerRejected(f"{what} must be a JSON object")
    return found, repairs


def _object_in_prose(text: str, what: str, repairs: list[Repair]) -> Any:
    try:
        return json.loads(text)
    except ValueError as problem:
        error = problem
    start = text.find("{")
    if start < 0:
        raise AnswerRejected(
            f"{what} are not valid JSON: {error}" if what.endswith("s") else f"{what} is not valid JSON: {error}"
        )
    decoder = json.JSONDecoder()
    try:
        found, end = decoder.raw_decode(text, start)
    except ValueError as problem:
        raise AnswerRejected(f"{what} {'are' if what.endswith('s') else 'is'} not valid JSON: {problem}") from None
    rest = text[end:]
    for brace in (i for i, char in enumerate(rest) if char == "{"):
        try:
            another, _ = decoder.raw_decode(rest, brace)
        except ValueError:
            continue
        if isinstance(another, dict):
            raise AnswerRejected(f"{what} holds more than one JSON object; send exactly one")
    if text[:start].strip() or rest.strip():
        repairs.append(Repair("(answer)", "text around the JSON object ignored"))
    return found


# --- repairing and judging ---------------------------------------------------------------------


def judge(model: type[T], spec: dict[str, Any], raw: Any) -> tuple[T, list[Repair]]:
    """The answer as a `model` instance, after the safe repairs (returned with it).
    Raises AnswerRejected naming every problem that could not be repaired."""
    if not isinstance(raw, dict):
        raise AnswerRejected("The answer must be a JSON object")
    properties = spec.get("properties", {})
    if properties and not any(key in properties or _same_key(key, properties) for key in raw):
        raise AnswerRejected(f"The answer has none of the fields {', '.join(properties)}")
    reader = _Reader()
    try:
        cleaned = reader.value(raw, spec, ())
    except _Fault as fault:
        raise AnswerRejected(f"{MISFIT}{fault.describe()}") from None
    for _ in range(4):  # each round removes what the model's own validators refused
        try:
            return model.model_validate(cleaned), reader.repairs
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
        problems: list[str] = []
        drops: dict[_Path, str] = {}
        for error in errors:
            target = _droppable(spec, error["loc"])
            if target is None:
                problems.append(f"{_dotted(error['loc'])}: {error['msg']}")
            else:
                drops.setdefault(target, error["msg"].removeprefix("Value error, "))
        if problems:
            raise AnswerRejected(MISFIT + "; ".join(problems[:20]))
        for target in sorted(_outermost(drops), key=_sort_key, reverse=True):
            _remove(cleaned, target)
            reader.note(target, f"left out: {drops[target]}")
    raise AnswerRejected("The answer could not be validated")


class _Fault(Exception):
    def __init__(self, path: _Path, message: str):
        super().__init__(message)
        self.path, self.message = path, message

    def describe(self) -> str:
        return f"{_dotted(self.path)}: {self.message}"


class _Reader:
    def __init__(self) -> None:
        self.repairs: list[Repair] = []

    def note(self, path: _Path, action: str) -> None:
        self.repairs.append(Repair(_dotted(path), action))

    def value(self, value: Any, node: dict[str, Any], path: _Path) -> Any:
        if "anyOf" in node:
            options = node["anyOf"]
            if value is None and _nullable(node):
                return None
            others = [option for option in options if option.get("type") != "null"]
            if len(others) != 1:
                return value  # other unions: the model's validation decides
            node = {
                **{k: v for k, v in node.items() if k != "anyOf"},
                **others[0],
                **({"x-essential": True} if node.get("x-essential") else {}),
            }
        if value is None:
            raise _Fault(path, "must not be null")
        if "enum" in node:
            return self.choice(value, node, path)
        kind = node.get("type")
        if kind == "object":
            return self.object(value, node, path)
        if kind == "array":
            return self.array(value, node, path)
        if kind == "string":
            return self.string(value, node, path)
        if kind in ("number", "integer"):
            return self.number(value, node, path)
        if kind == "boolean":
            return self.boolean(value, path)
        return value

    def object(self, value: Any, node: dict[str, Any], path: _Path) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _Fault(path, "must be an object")
        properties, required = node.get("properties", {}), set(node.get("required", ()))
        out = {key: item for key, item in value.items() if key in properties}
        unknown = 0
        for key, item in value.items():
            if key in properties:
                continue
            match = _same_key(key, properties)
            if match and match not in out:
                out[match] = item
                self.note((*path, match), "key spelt differently (case, spacing or separators) renamed")
            else:
                unknown += 1
        if unknown:
            self.note(path, f"{unknown} unknown key{'s' if unknown > 1 else ''} dropped")
        for name, child in properties.items():
            if name not in out:
                if name in required:
                    raise _Fault((*path, name), "missing")
                continue
            if out[name] is None and name not in required and not _nullable(child):
                del out[name]  # null for an optional field: its default, as if left out
                continue
            try:
                out[name] = self.value(out[name], child, (*path, name))
            except _Fault as fault:
                if name in required or child.get("x-essential"):
                    raise
                del out[name]
                self.note((*path, name), f"invalid optional field left out ({_relative(fault, path, name)})")
        return {name: out[name] for name in properties if name in out}

    def array(self, value: Any, node: dict[str, Any], path: _Path) -> list[Any]:
        if not isinstance(value, list):
            value = [value]
            self.note(path, "a single value wrapped in a list")
        items = node.get("items") or {}
        essential = bool(items.get("x-essential"))
        out = []
        for index, item in enumerate(value):
            try:
                out.append(self.value(item, items, (*path, index)))
            except _Fault as fault:
                if essential:
                    raise
                self.note((*path, index), f"invalid item removed ({_relative(fault, path, index)})")
        most = node.get("maxItems")
        if most is not None and len(out) > most:
            if essential:
                raise _Fault(path, f"has {len(out)} items; at most {most} are allowed")
            self.note(path, f"cut to its first {most} items (had {len(out)})")
            out = out[:most]
        least = node.get("minItems")
        if least and len(out) < least:
            raise _Fault(path, f"needs at least {least} item{'s' if least > 1 else ''}")
        return out

    def string(self, value: Any, node: dict[str, Any], path: _Path) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            value = _num(value)
            self.note(path, "number converted to text")
        if not isinstance(value, str):
            raise _Fault(path, "must be text")
        most = node.get("maxLength")
        if most is not None and len(value) > most:
            trimmed = value.strip()
            if len(trimmed) > most:
                if node.get("x-essential"):
                    raise _Fault(path, f"is longer than {most} characters")
                self.note(path, f"clipped to {most} characters at a word boundary (was {len(trimmed)})")
                trimmed = clip(trimmed, most)
            value = trimmed
        least = node.get("minLength")
        if least and len(value.strip()) < least:
            raise _Fault(path, "must not be empty" if least == 1 else f"needs at least {least} characters")
        if node.get("pattern") and not re.search(node["pattern"], value):
            raise _Fault(path, f"must match {node['pattern']}")
        return cast(str, value)

    def number(self, value: Any, node: dict[str, Any], path: _Path) -> int | float:
        low, high = node.get("minimum"), node.get("maximum")
        if isinstance(value, str):
            number = _read_number(value, high)
            if number is None:
                raise _Fault(path, "must be a number")
            value = number
            self.note(path, "number sent as text read")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _Fault(path, "must be a number")
        if node.get("type") == "integer":
            if not float(value).is_integer():
                self.note(path, "rounded to a whole number")
                value = math.floor(value + 0.5)
            value = int(value)
        if (low is not None and value < low) or (high is not None and value > high):
            slack = node.get("x-clamp")
            if slack is not None and low is not None and high is not None and low - slack <= value <= high + slack:
                self.note(path, f"clamped to the {_num(low)} to {_num(high)} scale")
                value = min(max(value, low), high)
            elif low is not None and value < low:
                raise _Fault(path, f"should be greater than or equal to {_num(low)}")
            else:
                assert high is not None  # the value is above the maximum
                raise _Fault(path, f"should be less than or equal to {_num(high)}")
        if node.get("exclusiveMinimum") is not None and value <= node["exclusiveMinimum"]:
            raise _Fault(path, f"should be greater than {_num(node['exclusiveMinimum'])}")
        if node.get("exclusiveMaximum") is not None and value >= node["exclusiveMaximum"]:
            raise _Fault(path, f"should be less than {_num(node['exclusiveMaximum'])}")
        return cast(int | float, value)

    def boolean(self, value: Any, path: _Path) -> bool:
        if isinstance(value, bool):
            return value
        read = (
            {"true": True, "yes": True, "false": False, "no": False}.get(str(value).strip().lower())
            if isinstance(value, str)
            else ({1: True, 0: False}.get(value) if isinstance(value, int) else None)
        )
        if read is None:
            raise _Fault(path, "must be true or false")
        self.note(path, "true/false sent as text or a number read")
        return read

    def choice(self, value: Any, node: dict[str, Any], path: _Path) -> Any:
        allowed = node["enum"]
        if any(value == option and type(value) is type(option) for option in allowed):
            return value
        if isinstance(value, str):
            wanted = normal_name(value)
            hits = {option for option in allowed if isinstance(option, str) and normal_name(option) == wanted}
            hits |= {
                option
                for option, names in node.get("x-aliases", {}).items()
                if option in allowed and any(normal_name(name) == wanted for name in names)
            }
            if len(hits) == 1:
                option = hits.pop()
                self.note(path, f"mapped a variant spelling to {option!r}")
                return option
        shown = ", ".join(map(str, allowed[:40])) + (", ..." if len(allowed) > 40 else "")
        raise _Fault(path, f"is not one of the allowed values: {shown}")


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, cut at the last word boundary when one falls in
    the second half (else at the limit)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if not text[limit].isspace():
        boundary = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
        if boundary >= limit // 2:
            cut = cut[:boundary]
    return cut.rstrip(" \t\n,;:-")


def normal_name(text: str) -> str:
    """'Technical Skills', 'technicalSkills', 'technical-skills ' -> 'technical_skills'."""
    text = text.strip()
    if text != text.upper() and text != text.lower():  # camelCase; not 'ABC-123' or 'HIGH'
        text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return re.sub(r"[^0-9a-z]+", "_", text.casefold()).strip("_")


def _same_key(key: str, properties: Mapping[str, Any]) -> str | None:
    squashed = normal_name(str(key)).replace("_", "")
    hits = [name for name in properties if normal_name(name).replace("_", "") == squashed]
    return hits[0] if len(hits) == 1 else None


_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_OUT_OF = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:/|out of)\s*(\d+(?:\.\d+)?)$", re.IGNORECASE)
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)\s*%$")


def _read_number(text: str, maximum: float | None) -> int | float | None:
    """'7', ' 7.5 ', and, when they match the field's own scale, '8/10' or '85%'."""
    text = text.strip()
    if _NUMBER.match(text):
        number = float(text)
    elif ((match := _OUT_OF.match(text)) and maximum is not None and float(match.group(2)) == maximum) or (
        (match := _PERCENT.match(text)) and maximum == 100
    ):
        number = float(match.group(1))
    else:
        return None
    return int(number) if number.is_integer() else number


def _nullable(node: dict[str, Any]) -> bool:
    return node.get("type") == "null" or any(option.get("type") == "null" for option in node.get("anyOf", ()))


def _droppable(spec: dict[str, Any], loc: _Path) -> _Path | None:
    """The nearest part of the answer that `loc` lies in and that may be left out:
    an item of a list of non-essential items, or an optional non-essential field."""
    node, trail = spec, []
    for index, part in enumerate(loc):
        node = _unwrapped_nullable(node)
        if isinstance(part, int) and node.get("type") == "array" and isinstance(node.get("items"), dict):
            child = node["items"]
            droppable = not child.get("x-essential")
        elif isinstance(part, str) and part in node.get("properties", {}):
            child = node["properties"][part]
            droppable = part not in node.get("required", ()) and not child.get("x-essential")
        else:
            break
        trail.append((tuple(loc[: index + 1]), droppable))
        node = child
    return next((prefix for prefix, droppable in reversed(trail) if droppable), None)


def _unwrapped_nullable(node: dict[str, Any]) -> dict[str, Any]:
    others = [option for option in node.get("anyOf", ()) if option.get("type") != "null"]
    return others[0] if len(others) == 1 else node


def _outermost(targets: Iterable[_Path]) -> list[_Path]:
    targets = set(targets)
    return [t for t in targets if not any(other != t and t[: len(other)] == other for other in targets)]


def _sort_key(path: _Path) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, part) for part in path)


def _remove(document: Any, path: _Path) -> None:
    for part in path[:-1]:
        document = document[part]
    del document[path[-1]]


def _dotted(path: Iterable[Any]) -> str:
    return ".".join(map(str, path)) or "(answer)"


def _relative(fault: _Fault, path: _Path, name: Any) -> str:
    inner = fault.path[len(path) + 1 :]
    return f"{_dotted(inner)}: {fault.message}" if inner else fault.message

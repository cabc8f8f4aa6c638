"""Pydantic building blocks shared by every slice's request and response schemas."""

from __future__ import annotations

import re
import types
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from upwatch.core.clock import isoformat_z

# What pydantic would otherwise read as seconds since 1970 (`0`, `"0.5"`, `1700000000`).
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def iso_8601_only(value: Any) -> Any:
    """Timestamps are ISO 8601 strings (`2026-01-31T12:00:00Z`), never numbers: a client that
    sends `0` or `"0.5"` meant something, and it was not 1970."""
    if isinstance(value, bool | int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise PydanticCustomError(
            "invalid_type", "Input should be an ISO 8601 date and time, e.g. 2026-01-31T12:00:00Z"
        )
    return value


#: ISO 8601, UTC, with `Z` and milliseconds: the one timestamp format of the API. Also the
#: type of `?from=` / `?to=` query parameters.
Timestamp = Annotated[
    datetime, BeforeValidator(iso_8601_only), PlainSerializer(isoformat_z, return_type=str)
]

#: Deliberately loose: self-hosted teams use internal domains (ops@corp.lan) that strict
#: validators reject. Whether mail arrives is the real test.
EmailAddress = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]

#: Labels on monitors and heartbeats, for filters (`?tag=a&tag=b`) and routing.
Tag = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/@+-]+$")]
MAX_TAGS = 20


class JsonTypes(BaseModel):
    """Values keep the JSON type they were sent with: `"60"` is not a number, `"true"` not a
    boolean, `1` not a boolean, `0` not a timestamp. pydantic's strict mode would do this, but
    it also refuses strings for timestamps, UUIDs and enums, which JSON can only send as
    strings: so strictness for the scalar types only, checked against each field's type.

    A model-level check (a field-level one may not touch a union's discriminator): a value
    of the wrong JSON type is swapped for a `Refused` marker, which the field's own
    validation then refuses, so the error names the field (`config.timeout_ms`, `ids[2]`)."""

    @model_validator(mode="before")
    @classmethod
    def _json_types_as_sent(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        checked = data
        for name, field in cls.model_fields.items():
            annotation = _checked_annotation(cls, name)
            key = field.alias or name
            if annotation is None or key not in data:
                continue
            value = as_sent(data[key], annotation)
            if value is not data[key]:
                checked = dict(checked) if checked is data else checked
                checked[key] = value
        return checked


class Strict(JsonTypes):
    """Request bodies: unknown fields are an error, not silently dropped; JSON types are
    not coerced (`JsonTypes`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


_CHECKED: dict[tuple[type, str], Any] = {}


def _checked_annotation(model: type[BaseModel], name: str) -> Any:
    """The field's annotation if it holds a type that refuses coercion, else None: most fields
    are strings and models, and configs are validated for every monitor at start."""
    key = (model, name)
    if key not in _CHECKED:
        field = model.model_fields.get(name)
        annotation = field.annotation if field is not None else None
        _CHECKED[key] = annotation if _mentions_refusing_type(annotation) else None
    return _CHECKED[key]


def _mentions_refusing_type(annotation: Any) -> bool:
    annotation = _unwrap(annotation)
    if annotation in _REFUSED:
        return True
    if get_origin(annotation) is Literal:
        return any(not isinstance(choice, str) for choice in get_args(annotation))
    return any(_mentions_refusing_type(argument) for argument in get_args(annotation))


# The JSON scalar types pydantic would coerce from another JSON type, and what they refuse.
_REFUSED: dict[type, tuple[type, ...]] = {
    bool: (str, int, float),
    int: (str, bool),  # 60.0 is an integer to JSON Schema too; 60.5 pydantic refuses
    float: (str, bool),
    datetime: (bool, int, float),
}
_NAMES = {bool: "a boolean", int: "an integer", float: "a number", datetime: "a date and time"}
_SEQUENCES = (list, set, frozenset, tuple)


class Refused:
    """Stands for a value of the wrong JSON type; no field type accepts it."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return self.message


def as_sent(value: Any, annotation: Any) -> Any:
    """`value` as decoded from JSON if `annotation` takes it without coercion; else a
    `Refused` (or a list or mapping with `Refused` where its items were wrong)."""
    annotation = _unwrap(annotation)
    origin = get_origin(annotation)
    if origin in {Union, types.UnionType}:
        return _as_sent_to_union(value, get_args(annotation))
    if origin is not None:
        return _as_sent_to_generic(value, origin, get_args(annotation))
    # The exact type: True is an int to isinstance, not to JSON.
    if annotation in _REFUSED and type(value) in _REFUSED[annotation]:
        return Refused(f"Input should be {_NAMES[annotation]}, not {_json_name(value)}")
    return value


def _as_sent_to_generic(value: Any, origin: Any, arguments: tuple[Any, ...]) -> Any:
    if origin is Literal:
        if isinstance(value, str) and not any(isinstance(choice, str) for choice in arguments):
            return Refused(f"Input should be one of {', '.join(map(repr, arguments))}")
    elif origin in _SEQUENCES and isinstance(value, list) and arguments:
        items = [as_sent(item, arguments[0]) for item in value]
        if any(checked is not item for checked, item in zip(items, value, strict=True)):
            return items
    elif origin is dict and isinstance(value, dict) and len(arguments) == 2:
        mapping = {key: as_sent(item, arguments[1]) for key, item in value.items()}
        if any(mapping[key] is not value[key] for key in value):
            return mapping
    return value


def _as_sent_to_union(value: Any, members: tuple[Any, ...]) -> Any:
    """A union takes the value if one of its members takes it as it is."""
    if value is None and type(None) in members:
        return value
    first_refusal: Any = None
    for member in members:
        if member is type(None):
            continue
        checked = as_sent(value, member)
        if checked is value:
            return value
        first_refusal = first_refusal if first_refusal is not None else checked
    return first_refusal if first_refusal is not None else value


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _json_name(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"

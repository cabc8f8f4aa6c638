"""What an HTTP check asserts about a response: its status and a value in its JSON body."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, JsonValue, field_validator, model_validator

from upwatch.schema import JsonTypes

_STATUS_CLASS = re.compile(r"^[1-5]xx$")
_SEGMENT = re.compile(r"([^.\[\]]*)((?:\[-?\d+\])*)")
_INDEX = re.compile(r"\[(-?\d+)\]")
MIN_STATUS, MAX_STATUS = 100, 599

StatusPattern = int | str
JsonOperator = Literal["eq", "ne", "gt", "ge", "lt", "le", "contains", "exists"]
_ORDERING = {"gt", "ge", "lt", "le"}


def check_status_pattern(pattern: StatusPattern) -> StatusPattern:
    """A code (`200`, or `"200"`) or a class (`"2xx"`); ValueError for anything else."""
    if isinstance(pattern, str):
        text = pattern.strip().lower()
        if _STATUS_CLASS.match(text):
            return text
        if not text.isdigit():
            raise ValueError(f"{pattern!r} is neither a status code nor a class like '2xx'")
        pattern = int(text)
    if not MIN_STATUS <= pattern <= MAX_STATUS:
        raise ValueError(f"{pattern} is not an HTTP status code (100-599)")
    return pattern


def status_matches(status: int, patterns: list[StatusPattern]) -> bool:
    return any(
        status == pattern if isinstance(pattern, int) else str(status)[0] == pattern[0]
        for pattern in patterns
    )


def parse_path(path: str) -> tuple[str | int, ...]:
    """`data.items[0].status` → ("data", "items", 0, "status"); ValueError when malformed."""
    steps: list[str | int] = []
    for part in path.split("."):
        match = _SEGMENT.fullmatch(part)
        if match is None or not part:
            raise ValueError(f"{path!r} is not a path like 'data.items[0].status'")
        if match.group(1):
            steps.append(match.group(1))
        steps.extend(int(index) for index in _INDEX.findall(match.group(2)))
    return tuple(steps)


class _Missing:
    """The value at a path that leads nowhere (distinct from JSON null)."""


MISSING = _Missing()


def value_at(document: Any, steps: tuple[str | int, ...]) -> Any:
    """The value `steps` lead to in a decoded JSON document, or MISSING."""
    current = document
    for step in steps:
        if isinstance(current, dict) and isinstance(step, str) and step in current:
            current = current[step]
        elif isinstance(current, list) and (index := _as_index(step)) is not None:
            if not -len(current) <= index < len(current):
                return MISSING
            current = current[index]
        else:
            return MISSING
    return current


def _as_index(step: str | int) -> int | None:
    if isinstance(step, int):
        return step
    return int(step) if step.isdigit() else None


def _number(value: Any) -> float | None:
    """JSON numbers, and strings holding one (APIs often quote numbers); never booleans."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left == right
    return bool(actual == expected)


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str):
        return str(expected) in actual
    if isinstance(actual, list):
        return any(_same(item, expected) for item in actual)
    if isinstance(actual, dict):
        return str(expected) in actual
    return False


class JsonAssertion(JsonTypes):
    """`path` `operator` `value`, e.g. `data.items[0].status eq "up"`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    operator: JsonOperator = "eq"
    value: JsonValue = None

    @field_validator("path")
    @classmethod
    def _path_parses(cls, path: str) -> str:
        parse_path(path)
        return path

    @model_validator(mode="after")
    def _value_fits_operator(self) -> JsonAssertion:
        if self.operator == "exists":
            return self
        if "value" not in self.model_fields_set:
            raise ValueError(f"operator {self.operator!r} needs a value")
        if self.operator in _ORDERING and _number(self.value) is None:
            raise ValueError(f"operator {self.operator!r} needs a number as value")
        return self

    def failure(self, document: Any) -> str | None:
        """Why `document` fails the assertion, or None when it passes."""
        actual = value_at(document, parse_path(self.path))
        if actual is MISSING:
            return f"{self.path} is not in the JSON body"
        if self.operator == "exists":
            return None
        if self._holds(actual):
            return None
        return f"{self.path} is {_show(actual)}, expected {self.operator} {_show(self.value)}"

    def _holds(self, actual: Any) -> bool:
        if self.operator == "eq":
            return _same(actual, self.value)
        if self.operator == "ne":
            return not _same(actual, self.value)
        if self.operator == "contains":
            return _contains(actual, self.value)
        left, right = _number(actual), _number(self.value)
        if left is None or right is None:
            return False
        comparisons = {"gt": left > right, "ge": left >= right, "lt": left < right}
        return comparisons.get(self.operator, left <= right)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

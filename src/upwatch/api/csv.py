"""CSV exports (`?format=csv`): one line at a time, so a long export streams."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable


def _inert(value: str) -> str:
    """A leading = + - @ makes spreadsheets run the cell as a formula (CSV injection)."""
    return f"'{value}" if value[:1] in {"=", "+", "-", "@"} else value


def csv_line(values: Iterable[object]) -> str:
    """One CSV line; None is an empty cell, every cell is formula-safe."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_inert("" if value is None else str(value)) for value in values])
    return buffer.getvalue()

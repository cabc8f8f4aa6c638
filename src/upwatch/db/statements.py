"""Core statements the hot writers (check results, heartbeat pings) build once and execute
with a list of rows: the ORM's bulk paths cost a third of their time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, update


def table_of(model: Any) -> Table:
    return cast(Table, model.__table__)


def update_by(model: Any, key: str, parameter: str, columns: Iterable[str]) -> Update:
    """UPDATE <model's table> SET <each column> = :<column> WHERE <key> = :<parameter>, for
    executemany. The key's parameter needs its own name: a column's name is reserved for the
    value it is set to."""
    table = table_of(model)
    return (
        update(table)
        .where(table.c[key] == bindparam(parameter))
        .values({column: bindparam(column) for column in sorted(columns)})
    )

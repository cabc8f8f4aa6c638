"""Which errors say "the database is unreachable now" (503 and retry) and which do not."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, ProgrammingError

from upwatch.db.outages import is_unavailable


class _PostgresError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        ConnectionResetError(104, "Connection reset by peer"),
        OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked")),
        OperationalError("BEGIN", {}, sqlite3.OperationalError("unable to open database file")),
        InterfaceError("SELECT 1", {}, Exception("connection is closed")),
        OperationalError("SELECT 1", {}, _PostgresError("57P03")),  # cannot connect now
        OperationalError("SELECT 1", {}, _PostgresError("57P01")),  # admin shutdown
        OperationalError("SELECT 1", {}, _PostgresError("08006")),  # connection failure
    ],
    ids=repr,
)
def test_an_unreachable_or_stopping_database_is_an_outage(error: Exception) -> None:
    assert is_unavailable(error)


def _connect() -> None:
    raise ConnectionRefusedError(111, "Connect call failed")


def _load_token() -> None:
    try:
        _connect()
    except ConnectionRefusedError as cause:
        raise RuntimeError("loading the token failed") from cause


def test_an_outage_is_recognised_behind_the_errors_it_caused() -> None:
    with pytest.raises(RuntimeError) as raised:
        _load_token()
    assert is_unavailable(raised.value)


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("INSERT", {}, sqlite3.IntegrityError("FOREIGN KEY constraint failed")),
        OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: monitors")),
        ProgrammingError("SELECT", {}, _PostgresError("42P01")),  # undefined table: a bug
        ValueError("bad data"),
    ],
    ids=repr,
)
def test_bugs_and_bad_data_are_not_an_outage(error: Exception) -> None:
    assert not is_unavailable(error)

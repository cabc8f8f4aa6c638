"""The ping writer and the deadline watcher while their PostgreSQL is stopped: one warning
line per failed attempt, naming the outage, with no traceback (an outage is expected and
waited out; a traceback per batch would bury the log). Any other failure keeps its
traceback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.support.engine import World, eventually
from tests.support.private_postgres import PrivatePostgres
from upwatch.core.clock import SystemClock
from upwatch.db.outages import is_unavailable
from upwatch.engine.heartbeats.deadlines import DeadlineWatcher
from upwatch.engine.heartbeats.pings import PingWriter, Received
from upwatch.heartbeats.machine import Ping, PingKind

A_HEARTBEAT_ID = 1  # never read: the database is away before the batch gets that far
# What the database refuses for good (bad data, not an outage): PostgreSQL text cannot hold
# NUL, a bigint cannot hold 2**63.
REFUSED_TOKEN_HASH = "a\x00b"
REFUSED_HEARTBEAT_ID = 2**63


@pytest.fixture
def database_url(private_postgres: PrivatePostgres) -> str:
    """These tests stop the database: their own server, never the shared one."""
    return private_postgres.migrated()


def _lines_of(logs: list[dict[str, Any]], prefix: str) -> list[tuple[str, str, bool]]:
    """(event, level, has a traceback) of each line of one component."""
    return [(line["event"], line["log_level"], "exc_info" in line) for line in _of(logs, prefix)]


def _of(logs: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [line for line in logs if str(line["event"]).startswith(prefix)]


async def test_a_ping_batch_refused_by_a_database_outage_logs_one_warning_without_a_traceback(
    world: World, private_postgres: PrivatePostgres
) -> None:
    writer = PingWriter(world.database, world.bus, lambda _id, _deadline: None)
    writer.start()
    received = _ping(heartbeat_id=A_HEARTBEAT_ID)
    private_postgres.stop()
    try:
        # The request is refused with whatever the driver raised (the API answers 503).
        with capture_logs() as logs, pytest.raises(Exception) as refused:  # noqa: PT011
            await writer.submit(received)
    finally:
        private_postgres.start()
        await writer.stop()

    assert is_unavailable(refused.value)
    assert _lines_of(logs, "pings.") == [("pings.database_unavailable", "warning", False)]
    assert all("error" in line for line in _of(logs, "pings."))  # what failed, as a repr


async def test_deadlines_missed_during_a_database_outage_log_one_warning_per_attempt_without_a_traceback(  # noqa: E501
    world: World, private_postgres: PrivatePostgres
) -> None:
    watcher = DeadlineWatcher(world.database, world.bus, SystemClock())
    watcher.start()
    try:
        await eventually(lambda: _true(watcher.loaded.is_set()))
        private_postgres.stop()
        with capture_logs() as logs:
            watcher.arm(A_HEARTBEAT_ID, datetime.now(UTC) - timedelta(seconds=1))
            await eventually(lambda: _true(len(_lines_of(logs, "deadlines.")) >= 2))
    finally:
        private_postgres.start()
        await watcher.stop()

    lines = _lines_of(logs, "deadlines.")
    assert set(lines) == {("deadlines.database_unavailable", "warning", False)}
    assert all("error" in line for line in _of(logs, "deadlines."))


def _ping(**address: Any) -> Received:
    return Received(Ping(PingKind.SUCCESS, datetime.now(UTC)), "GET", "127.0.0.1", None, **address)


async def test_a_ping_batch_the_database_refuses_for_good_still_logs_its_traceback(
    world: World,
) -> None:
    writer = PingWriter(world.database, world.bus, lambda _id, _deadline: None)
    writer.start()
    try:
        with capture_logs() as logs, pytest.raises(Exception) as refused:  # noqa: PT011
            await writer.submit(_ping(token_hash=REFUSED_TOKEN_HASH))
    finally:
        await writer.stop()

    assert not is_unavailable(refused.value)
    assert _lines_of(logs, "pings.") == [("pings.write_failed", "error", True)]


async def test_a_deadline_the_database_refuses_for_good_still_logs_its_traceback(
    world: World,
) -> None:
    watcher = DeadlineWatcher(world.database, world.bus, SystemClock())
    watcher.start()
    try:
        await eventually(lambda: _true(watcher.loaded.is_set()))
        with capture_logs() as logs:
            watcher.arm(REFUSED_HEARTBEAT_ID, datetime.now(UTC) - timedelta(seconds=1))
            await eventually(lambda: _true(bool(_lines_of(logs, "deadlines."))))
    finally:
        await watcher.stop()

    assert _lines_of(logs, "deadlines.")[0] == ("deadlines.fire_failed", "error", True)


async def _true(value: bool) -> bool | None:
    return value or None

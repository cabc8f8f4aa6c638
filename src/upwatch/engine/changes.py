"""Telling worker processes that monitors changed (created, edited, paused, deleted).

The API applies a change to its own engine after the commit. Worker processes (`upwatch
worker`, PostgreSQL only) learn of it through PostgreSQL's LISTEN/NOTIFY: `announce` queues a
notification inside the API's transaction, so it is delivered when, and only if, the change
commits; each worker refreshes the ids of its shard. A worker that loses its listening
connection reloads all its monitors once it is back, so nothing changed meanwhile is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.logs import get_logger

CHANNEL = "upwatch_monitor_changes"
# PostgreSQL caps a payload at 8,000 bytes; ids are at most 19 digits and a comma.
IDS_PER_NOTIFICATION = 350
RECONNECT_SECONDS = 2.0
log = get_logger("upwatch.engine.changes")


def chunks(ids: list[int]) -> Iterable[str]:
    for start in range(0, len(ids), IDS_PER_NOTIFICATION):
        yield ",".join(str(monitor_id) for monitor_id in ids[start : start + IDS_PER_NOTIFICATION])


def parse(payload: str) -> list[int]:
    return [int(part) for part in payload.split(",") if part.strip().isdigit()]


async def announce(session: AsyncSession, monitor_ids: Iterable[int]) -> None:
    """Queue a notification of `monitor_ids` in the session's transaction (PostgreSQL; on
    SQLite there are no worker processes to tell)."""
    ids = sorted(set(monitor_ids))
    if not ids or session.get_bind().dialect.name != "postgresql":
        return
    for payload in chunks(ids):
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
        )


class ChangeListener:
    """Listens on CHANNEL for the life of a worker: `on_change(ids)` for each notification,
    `on_reconnect()` after the connection was lost and is back."""

    def __init__(
        self,
        database_url: str,
        on_change: Callable[[list[int]], Coroutine[Any, Any, None]],
        on_reconnect: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self._dsn = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        self._on_change = on_change
        self._on_reconnect = on_reconnect
        self._tasks: list[asyncio.Task[None]] = []
        # Ids notified and not yet applied. One task applies them, in turn: two refreshes of
        # one monitor running at once could apply the older read last.
        self._pending: set[int] = set()
        self._arrived = asyncio.Event()
        self.listening = asyncio.Event()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen_forever(), name="change-listener"),
            asyncio.create_task(self._apply_forever(), name="change-applier"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen_forever(self) -> None:
        catch_up = False
        while True:
            try:
                await self._listen(catch_up=catch_up)
                log.warning("changes.connection_lost", retry_in=RECONNECT_SECONDS)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("changes.listen_failed", error=repr(exc), retry_in=RECONNECT_SECONDS)
            catch_up = True  # whatever changed while nobody listened must be reloaded
            self.listening.clear()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self, *, catch_up: bool) -> None:
        """Listen until the connection is lost."""
        connection = await asyncpg.connect(self._dsn)
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            await connection.add_listener(CHANNEL, self._received)
            self.listening.set()
            if catch_up:
                await self._on_reconnect()
            await lost.wait()
        finally:
            if not connection.is_closed():
                await connection.close()

    def _received(self, _connection: object, _pid: int, _channel: str, payload: object) -> None:
        self._pending.update(parse(str(payload)))
        self._arrived.set()

    async def _apply_forever(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            ids, self._pending = sorted(self._pending), set()
            try:
                await self._on_change(ids)
            except Exception as exc:  # the database may be away: try these again
                log.warning("changes.refresh_failed", error=repr(exc), monitors=len(ids))
                self._pending.update(ids)
                self._arrived.set()
                await asyncio.sleep(RECONNECT_SECONDS)

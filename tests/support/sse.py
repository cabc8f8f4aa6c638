"""Reading the Server-Sent Events stream (`GET /api/v1/events`) over real HTTP, for tests.

`event_stream(...)` opens the stream with a bearer token and optional filters (`type`,
`monitor_id`, `Last-Event-ID`) and returns only once the server has sent its first block
(`retry:`): the server subscribes before sending it, so an event the test causes after that
is sure to reach the stream. `EventStream.next()` then reads one data event at a time.

Every read is bounded twice: the client's read timeout (nothing at all arrived, not even a
keep-alive) and a deadline per event (keep-alives kept coming but no event did). Either
fails the test with a message saying which, instead of hanging it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import pytest

EVENTS = "/api/v1/events"
READ_SECONDS = 10.0  # the longest any single read from a stream may take
DEADLINE_SECONDS = 20.0  # the longest a test waits for one event, keep-alives included


class Served(Protocol):
    """Anything that knows where the app is served (`ApiHarness`, a test's own app handle)."""

    @property
    def base_url(self) -> str: ...


@dataclass(frozen=True)
class Received:
    """One event as the stream framed it: its `id:` and `event:` lines and its envelope
    (the parsed `data:` line: `id`, `type`, `created_at`, `data`)."""

    sse_id: str
    sse_event: str
    envelope: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.envelope["type"])

    @property
    def data(self) -> dict[str, Any]:
        return self.envelope["data"]  # type: ignore[no-any-return]


class EventStream:
    """An open `text/event-stream` response, read one event at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.iter_lines()

    def _block(self, deadline: float) -> dict[str, str]:
        """The fields of the next non-empty block (comments such as keep-alives skipped)."""
        fields: dict[str, str] = {}
        try:
            for line in self._lines:
                # Keep-alives are lines too, so this is checked even while no event comes.
                if time.monotonic() > deadline:
                    pytest.fail(f"no event arrived within {DEADLINE_SECONDS} s")
                if line == "":
                    if fields:
                        return fields
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        except httpx.ReadTimeout:
            pytest.fail(f"the stream sent nothing for {READ_SECONDS} s")
        pytest.fail("the server ended the stream")

    def wait_until_subscribed(self) -> None:
        """The server subscribes before it sends its first block (`retry:`); events caused
        after this call reach the stream."""
        first = self._block(time.monotonic() + DEADLINE_SECONDS)
        assert "retry" in first, first

    def next(self) -> Received:
        """The next event that carries data (blocks without `data:` are passed over)."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            block = self._block(deadline)
            if "data" in block:
                return Received(
                    block.get("id", ""), block.get("event", ""), json.loads(block["data"])
                )


@contextmanager
def event_stream(
    server: str | Served,
    token: str,
    types: Sequence[str] = (),
    *,
    monitor_ids: Sequence[str] = (),
    last_event_id: str | None = None,
) -> Iterator[EventStream]:
    """The event stream of `token`'s organization on `server` (a base URL, or anything with
    a `base_url`), filtered to `types` (`monitor.*` matches a prefix) and `monitor_ids`,
    already subscribed when it is yielded."""
    base_url = server if isinstance(server, str) else server.base_url
    params = tuple(("type", kind) for kind in types) + tuple(
        ("monitor_id", id_) for id_ in monitor_ids
    )
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    with (
        httpx.Client(base_url=base_url, timeout=READ_SECONDS) as client,
        client.stream("GET", EVENTS, params=params, headers=headers) as response,
    ):
        if response.status_code != 200:
            response.read()  # a streamed response has no text until it is read
            pytest.fail(f"the stream was refused: {response.status_code} {response.text}")
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = EventStream(response)
        stream.wait_until_subscribed()
        yield stream

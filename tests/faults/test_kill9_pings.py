"""kill -9 of `upwatch serve` under heartbeat ping load, on SQLite and on PostgreSQL: every
ping that was acknowledged (2xx) is stored, and the restarted server takes pings again.

A ping is acknowledged only after the commit that stores it, so a crash may lose a ping
whose answer never left the server, never one that was answered. Each ping carries a body of
its own, so the test checks the promise ping by ping, not only by counting.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.support.accounts import Seeder
from tests.support.processes import free_port, serve_process, stopped, upwatch_env
from tests.support.processes import wait_until_ready as ready
from upwatch.core.scopes import Role

HEARTBEATS = 3
CLIENTS = 8  # concurrent connections, each sending one ping after another
PINGS_PER_CLIENT = 50  # the load is bounded: at most 400 pings
KILL_AFTER_ACKNOWLEDGED = 200  # mid-load: half of the pings are answered by then


@dataclass
class Tally:
    sent: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)


async def _ping_until_refused(
    urls: list[str], tally: Tally, kill: Callable[[], None], client_number: int
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        for number in range(PINGS_PER_CLIENT):
            body = f"ping-{client_number}-{number}"
            tally.sent.add(body)
            try:
                response = await client.post(urls[number % len(urls)], content=body)
            except httpx.TransportError:
                return  # the server is gone: this client stops
            if response.is_success:
                tally.acknowledged.add(body)
            if len(tally.acknowledged) == KILL_AFTER_ACKNOWLEDGED:
                kill()


async def _load(urls: list[str], kill: Callable[[], None]) -> Tally:
    tally = Tally()
    async with asyncio.TaskGroup() as group:
        for client_number in range(CLIENTS):
            group.create_task(_ping_until_refused(urls, tally, kill, client_number))
    return tally


def _ping_urls(base_url: str, token: str) -> list[str]:
    urls = []
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as api:
        for index in range(HEARTBEATS):
            body = {"name": f"job {index}", "period_seconds": 3600}
            created = api.post("/api/v1/heartbeats", json=body, timeout=30)
            assert created.status_code == 201, created.text
            urls.append(base_url + urlsplit(created.json()["ping_url"]).path)
    return urls


def test_kill_9_under_ping_load_loses_no_acknowledged_ping(
    database_url: str, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    seed = Seeder(database_url)
    owner = seed.person(seed.tenant().organization_id, Role.OWNER)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = upwatch_env(
        database_url, tmp_path / "data", port=str(port), ping_rate_limit_per_minute="1000000"
    )
    log = tmp_path / "serve.log"
    with serve_process(env, log) as server:
        ready(base_url)
        urls = _ping_urls(base_url, owner.token)
        tally = asyncio.run(_load(urls, lambda: os.kill(server.pid, signal.SIGKILL)))
        assert server.wait(timeout=30) == -signal.SIGKILL, log.read_text()
    with serve_process(env, log) as again:
        ready(base_url)
        after_restart = httpx.post(urls[0], content="after the restart", timeout=30)
        assert stopped(again) in (0, -signal.SIGTERM), log.read_text()
    stored = {str(body) for (body,) in seed.rows("SELECT body FROM heartbeat_pings")}

    backend = "sqlite" if "sqlite" in database_url else "postgresql"
    counts = {
        "sent": len(tally.sent),
        "acknowledged": len(tally.acknowledged),
        "stored": len(stored - {"after the restart"}),
    }
    print(f"kill -9 of upwatch serve on {backend}: {counts}")
    for name, value in counts.items():
        record_property(name, value)
    assert len(tally.acknowledged) >= KILL_AFTER_ACKNOWLEDGED  # the kill came mid-load
    assert len(tally.sent) < CLIENTS * PINGS_PER_CLIENT  # and stopped it
    assert tally.acknowledged - stored == set()  # nothing acknowledged was lost
    assert stored - {"after the restart"} <= tally.sent
    assert after_restart.status_code == 200
    assert "after the restart" in stored

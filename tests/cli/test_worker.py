"""`upwatch worker --processes N` beside an API process with checks off, on PostgreSQL: every
monitor checked by exactly one worker, every check stored once, API changes heard at once,
a graceful stop on SIGTERM."""

from __future__ import annotations

import itertools
import os
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.conftest import SettingsFactory
from tests.support.accounts import Seeder
from tests.support.processes import (
    api_beside_workers,
    children,
    start_workers,
    stopped,
    until,
    upwatch_env,
)
from upwatch.cli.main import app as cli


class Target:
    """A loopback HTTP server counting the requests to each path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        lock = threading.Lock()
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with lock:
                    hits[self.path] += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    yield server
    server.close()


def test_two_worker_processes_share_the_monitors_and_hear_every_change(
    postgres_url: str, make_settings: SettingsFactory, target: Target, tmp_path: Path
) -> None:
    seed = Seeder(postgres_url)
    log = tmp_path / "workers.log"
    with api_beside_workers(make_settings, postgres_url) as api:
        paths = [f"/m{index}" for index in range(6)]
        ids = {path: _create_monitor(api, target, path) for path in paths}
        workers = start_workers(upwatch_env(postgres_url, tmp_path / "data"), log)
        try:
            until(lambda: all(target.hits[path] >= 3 for path in paths), "every monitor")

            paused = api.post(f"/api/v1/monitors/{ids['/m0']}/pause")
            assert paused.status_code == 200, paused.text
            at_pause = dict(target.hits)
            until(
                lambda: all(target.hits[path] >= at_pause[path] + 3 for path in paths[1:]),
                "three more checks of the active monitors",
            )
            # One check may have been under way when the pause committed; no more.
            assert target.hits["/m0"] <= at_pause["/m0"] + 1

            _create_monitor(api, target, "/new")
            until(lambda: target.hits["/new"] >= 2, "the monitor created while running")
        finally:
            code = stopped(workers)
    output = log.read_text()
    assert code == 0, output
    assert output.count('"worker.stopped"') == 2, output
    assert '"worker.all_stopped"' in output, output

    # Each check made once, by one worker, and stored: as many rows as requests received,
    # and never two rows for one monitor's slot.
    stored = dict(
        seed.rows(
            "SELECT m.name, count(*) FROM check_results r JOIN monitors m ON m.id = r.monitor_id "
            "GROUP BY m.name"
        )
    )
    assert stored == {path: target.hits[path] for path in [*paths, "/new"]}
    doubled = seed.rows(
        "SELECT monitor_id, scheduled_at FROM check_results "
        "GROUP BY monitor_id, scheduled_at HAVING count(*) > 1"
    )
    assert doubled == []


def _create_monitor(api: httpx.Client, target: Target, path: str, interval: int = 1) -> str:
    body = {"name": path, "kind": "http", "target": target.url(path), "interval_seconds": interval}
    response = api.post("/api/v1/monitors", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_the_worker_refuses_sqlite_and_says_what_it_needs(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["worker"], env={"UPWATCH_DATA_DIR": str(tmp_path)}, catch_exceptions=False
    )
    assert result.exit_code == 2
    assert "needs PostgreSQL" in result.output


def test_workers_stop_by_themselves_when_their_supervisor_is_killed(
    postgres_url: str, tmp_path: Path
) -> None:
    """A supervisor killed with SIGKILL cannot stop its workers: they notice and stop, rather
    than go on checking unsupervised (and twice, once a new supervisor starts)."""
    log = tmp_path / "workers.log"
    workers = start_workers(upwatch_env(postgres_url, tmp_path / "data"), log)
    try:
        until(lambda: log.read_text().count('"worker.started"') == 2, "both workers")
        orphans = children(workers.pid)
        assert len(orphans) == 2
        workers.kill()
        workers.wait()
        until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in orphans), "exits")
    finally:
        if workers.poll() is None:
            os.killpg(workers.pid, signal.SIGKILL)
    output = log.read_text()
    assert output.count('"worker.supervisor_gone"') == 2, output
    assert output.count('"worker.stopped"') == 2, output


def test_the_supervisor_restarts_a_worker_that_dies(postgres_url: str, tmp_path: Path) -> None:
    log = tmp_path / "workers.log"
    workers = start_workers(upwatch_env(postgres_url, tmp_path / "data"), log)
    try:
        until(lambda: log.read_text().count('"worker.started"') == 2, "both workers")
        victim = children(workers.pid)[0]
        os.kill(victim, signal.SIGKILL)
        until(lambda: log.read_text().count('"worker.started"') == 3, "the replacement")
        replacement = children(workers.pid)
        assert len(replacement) == 2
        assert victim not in replacement
    finally:
        code = stopped(workers)
    output = log.read_text()
    assert code == 0, output
    assert output.count('"worker.child_exited"') == 1, output
    assert output.count('"worker.stopped"') == 2, output  # the killed one never said so


RESUME_INTERVAL = 3


def test_a_killed_worker_is_replaced_at_once_and_its_monitors_miss_at_most_one_slot(
    postgres_url: str, make_settings: SettingsFactory, target: Target, tmp_path: Path
) -> None:
    """kill -9 of a worker: the supervisor starts its replacement at once, so each of its
    monitors is checked again by its next slot or the one after (a replacement that first
    spent seconds starting an interpreter left its monitors unchecked for several slots)."""
    seed = Seeder(postgres_url)
    log = tmp_path / "workers.log"
    paths = [f"/r{index}" for index in range(6)]
    with api_beside_workers(make_settings, postgres_url) as api:
        for path in paths:
            _create_monitor(api, target, path, interval=RESUME_INTERVAL)
        workers = start_workers(upwatch_env(postgres_url, tmp_path / "data"), log)
        try:
            until(lambda: all(target.hits[path] >= 2 for path in paths), "every monitor")
            victim = children(workers.pid)[0]
            os.kill(victim, signal.SIGKILL)
            at_kill = dict(target.hits)
            until(
                lambda: all(target.hits[path] >= at_kill[path] + 2 for path in paths),
                "two more checks of every monitor",
            )
            assert victim not in children(workers.pid)
        finally:
            code = stopped(workers)
    output = log.read_text()
    assert code == 0, output
    assert output.count('"worker.child_exited"') == 1, output
    slots = seed.rows(
        "SELECT m.name, r.scheduled_at FROM check_results r JOIN monitors m ON m.id = r.monitor_id "
        "ORDER BY m.name, r.scheduled_at"
    )
    widest: dict[str, float] = {}
    for earlier, later in itertools.pairwise(slots):
        if earlier[0] == later[0]:
            gap = (later[1] - earlier[1]).total_seconds()
            widest[later[0]] = max(gap, widest.get(later[0], 0.0))
    missed = {name: gap for name, gap in widest.items() if gap > 2 * RESUME_INTERVAL + 0.5}
    assert missed == {}, f"monitors that missed more than one slot: {missed}"

"""Upwatch as an operator runs it: `upwatch serve` and `upwatch worker` as real processes on
127.0.0.1, with JSON logs in a file, stopped gracefully or killed outright."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support import http, waiting
from tests.support.accounts import Seeder
from tests.support.engine import INSTANCE_KEY
from tests.support.server import serving
from upwatch.api.app import create_app
from upwatch.core.scopes import Role
from upwatch.settings import Settings

WAIT_SECONDS = 60.0  # the longest a test waits for a process to start or to act
STOP_SECONDS = 40.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def until(condition: Callable[[], bool], what: str, within: float = WAIT_SECONDS) -> None:
    """`waiting.until`, with the patience a process needs to start or to act."""
    waiting.until(condition, what, within, step=0.1)


def wait_until_ready(base_url: str) -> httpx.Response:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            response = http.get(f"{base_url}/health/ready")
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("upwatch serve did not become ready")
        time.sleep(0.1)


def upwatch_env(database_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of an Upwatch process on `database_url`: JSON logs, the tests' instance
    key, and `settings` as UPWATCH_<NAME> (the developer's own UPWATCH_* are not passed)."""
    inherited = {
        name: value for name, value in os.environ.items() if not name.startswith("UPWATCH_")
    }
    return {
        **inherited,
        "UPWATCH_DATABASE_URL": database_url,
        "UPWATCH_SECRET_KEY": INSTANCE_KEY,
        "UPWATCH_DATA_DIR": str(data_dir),
        "UPWATCH_LOG_FORMAT": "json",
        **{f"UPWATCH_{name.upper()}": value for name, value in settings.items()},
    }


@contextmanager
def serve_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`upwatch serve` on `env`'s port, appending to `log`; killed if still running at the
    end of the block (a test stops or kills it itself)."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "upwatch", "serve"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_workers(env: dict[str, str], log: Path, processes: int = 2) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        # Its own session, so that a hung worker can be killed with its children.
        return subprocess.Popen(
            [sys.executable, "-m", "upwatch", "worker", "--processes", str(processes)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stopped(process: subprocess.Popen[bytes]) -> int:
    """Stop with SIGTERM, as an operator does; its exit code. Killed (and failed) if it is
    still running after STOP_SECONDS."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError("the process did not stop within 40 s of SIGTERM") from None


def children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


@contextmanager
def api_beside_workers(
    make_settings: Callable[..., Settings], database_url: str, **overrides: object
) -> Iterator[httpx.Client]:
    """The API process of a deployment whose `upwatch worker` processes run the checks (so
    checks are off here; intervals down to 1 s), served on `database_url`, and a client of
    the owner of a new organization."""
    settings = make_settings(
        database_url=database_url,
        secret_key=INSTANCE_KEY,
        min_interval_seconds=1,
        run_checks=False,
        **overrides,
    )
    seed = Seeder(database_url)
    owner = seed.person(seed.tenant().organization_id, Role.OWNER)
    with (
        serving(create_app(settings)) as base_url,
        httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {owner.token}"}, timeout=30
        ) as api,
    ):
        yield api

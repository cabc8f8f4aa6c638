"""`upwatch serve` as an operator runs it: a real process, real requests, JSON logs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from tests.conftest import _require_postgres
from tests.support import http
from tests.support.accounts import Seeder
from tests.support.databases import PostgresDatabases
from tests.support.processes import free_port as _free_port
from tests.support.processes import wait_until_ready as _wait_until_ready
from upwatch.cli.main import app as cli
from upwatch.core.scopes import Role

STARTUP_SECONDS = 30


def _serve(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    env = {
        **os.environ,
        "UPWATCH_PORT": str(port),
        "UPWATCH_DATA_DIR": str(data_dir),
        "UPWATCH_LOG_FORMAT": "json",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "upwatch", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, f"http://127.0.0.1:{port}"


def _stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    output, _ = process.communicate(timeout=20)
    return output


def test_serve_migrates_answers_and_logs_each_request_with_its_id(tmp_path: Path) -> None:
    process, url = _serve(tmp_path / "data")
    try:
        ready = _wait_until_ready(url)
        missing = http.get(f"{url}/api/v1/nope", headers={"X-Request-ID": "serve-test-1"})
    finally:
        output = _stop(process)
    assert ready.json()["checks"] == {"database": "ok"}
    assert (tmp_path / "data" / "upwatch.db").exists()
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line.get("request_id") == "serve-test-1"]
    assert request_lines, output
    assert request_lines[0]["event"] == "request"
    assert request_lines[0]["status"] == 404
    # A graceful stop on SIGTERM: the app's shutdown ran (uvicorn then re-raises the signal).
    assert any(line.get("event") == "Application shutdown complete." for line in lines), output


def test_the_first_start_prints_working_credentials_once_and_never_logs_them(
    tmp_path: Path,
) -> None:
    process, url = _serve(tmp_path / "data")
    try:
        _wait_until_ready(url)
    finally:
        output = _stop(process)
    token_line = next(line for line in output.splitlines() if "API token (shown once)" in line)
    token = token_line.rsplit(" ", 1)[-1]
    password_line = next(line for line in output.splitlines() if "password:" in line)
    password = password_line.split()[1]
    log_lines = [line for line in output.splitlines() if line.startswith("{")]
    assert token not in "\n".join(log_lines)
    assert password not in "\n".join(log_lines)

    again, url = _serve(tmp_path / "data")
    try:
        _wait_until_ready(url)
        me = http.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        login = http.post(
            f"{url}/api/v1/auth/login", json={"email": "admin@example.com", "password": password}
        )
    finally:
        second_output = _stop(again)
    assert me.status_code == 200
    assert me.json()["role"] == "owner"
    assert login.status_code == 200
    assert "API token" not in second_output


def test_a_start_that_cannot_bind_its_port_creates_no_owner_so_the_next_start_prints_it(
    tmp_path: Path,
) -> None:
    """The one-time password and token must not be spent on a start that never served."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        failed = subprocess.run(
            [sys.executable, "-m", "upwatch", "serve"],
            env={**os.environ, "UPWATCH_PORT": str(port), "UPWATCH_DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=STARTUP_SECONDS,
            check=False,
        )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "API token" not in failed.stdout + failed.stderr
    assert f"127.0.0.1:{port}" in failed.stderr
    assert "in use" in failed.stderr

    process, url = _serve(tmp_path)
    try:
        _wait_until_ready(url)
    finally:
        output = _stop(process)
    assert "API token (shown once)" in output


def test_serve_with_two_processes_answers_on_one_port_and_stores_every_ping(
    tmp_path: Path, postgres_databases: PostgresDatabases | None
) -> None:
    databases = _require_postgres(postgres_databases)
    name, database_url = databases.migrated()
    try:
        _two_processes(tmp_path, database_url)
    finally:
        databases.drop(name)


def _two_processes(tmp_path: Path, database_url: str) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "UPWATCH_DATABASE_URL": database_url,
        "UPWATCH_PORT": str(port),
        "UPWATCH_DATA_DIR": str(tmp_path / "data"),
        "UPWATCH_LOG_FORMAT": "json",
    }
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "upwatch", "serve", "--workers", "2", "--no-checks"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until_ready(url)
        seed = Seeder(database_url)
        owner = seed.person(seed.tenant().organization_id, Role.OWNER)
        created = http.post(
            f"{url}/api/v1/heartbeats",
            json={"name": "nightly", "period_seconds": 3600},
            headers={"Authorization": f"Bearer {owner.token}"},
        )
        assert created.status_code == 201, created.text
        ping_url = f"{url}{urlsplit(created.json()['ping_url']).path}"
        answers = [http.get(ping_url).status_code for _ in range(40)]  # a connection each
    finally:
        output = _stop(process)
    stored = seed.scalar("SELECT count(*) FROM heartbeat_pings")
    assert answers == [200] * 40
    assert stored == 40
    assert output.count("Application startup complete.") == 2, output
    assert output.count("Application shutdown complete.") == 2, output


def test_serve_with_several_processes_refuses_to_run_the_checks_in_each(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["serve", "--workers", "2"],
        env={"UPWATCH_DATA_DIR": str(tmp_path), "UPWATCH_DATABASE_URL": "postgresql://x@h/db"},
    )
    assert result.exit_code == 2
    assert "needs --no-checks" in result.output


def _closed_by_server(url: str, sent: bytes) -> bool:
    """Send `sent` (an unfinished request) and wait, bounded, for the server to hang up."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=15) as sock:
        sock.sendall(sent)
        try:
            return sock.recv(4096) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True


@pytest.mark.parametrize("processes", [1, 2], ids=["one-process", "two-processes"])
def test_serve_hangs_up_on_a_client_whose_headers_never_finish(
    tmp_path: Path, postgres_databases: PostgresDatabases | None, processes: int
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "UPWATCH_PORT": str(port),
        "UPWATCH_DATA_DIR": str(tmp_path / "data"),
        "UPWATCH_HEADER_TIMEOUT_SECONDS": "0.5",
    }
    command = [sys.executable, "-m", "upwatch", "serve"]
    name = None
    if processes > 1:  # each process of `--workers` must get the limits too
        databases = _require_postgres(postgres_databases)
        name, env["UPWATCH_DATABASE_URL"] = databases.migrated()
        command += ["--workers", str(processes), "--no-checks"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url)
        hung_up = [_closed_by_server(url, b"GET /health/li") for _ in range(2 * processes)]
    finally:
        _stop(process)
        if name is not None:
            databases.drop(name)
    assert hung_up == [True] * 2 * processes

"""`upwatch serve` as an operator runs it: a real process, real requests, JSON logs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import http

STARTUP_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def _wait_until_ready(base_url: str) -> httpx.Response:
    deadline = time.monotonic() + STARTUP_SECONDS
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

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

STARTUP_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_migrates_answers_and_logs_each_request_with_its_id(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "UPWATCH_PORT": str(port),
        "UPWATCH_DATA_DIR": str(tmp_path / "data"),
        "UPWATCH_LOG_FORMAT": "json",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "upwatch", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ready = _wait_until_ready(f"http://127.0.0.1:{port}")
        missing = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/nope", headers={"X-Request-ID": "serve-test-1"}
        )
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
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
            response = httpx.get(f"{base_url}/health/ready")
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("upwatch serve did not become ready")
        time.sleep(0.1)

"""The request log line: rendered in one step, in the shape of every other line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from upwatch import logs
from upwatch.logs import RequestLog, configure_logging, get_logger
from upwatch.settings import Settings


@pytest.fixture
def stderr() -> Iterator[io.StringIO]:
    """Where `configured` sends what configure_logging's handler writes; the root logger's
    handlers and level are put back afterwards."""
    root = logging.getLogger()
    handlers, level, access_json = root.handlers[:], root.level, logs._access.json
    yield io.StringIO()
    root.handlers[:] = handlers
    root.setLevel(level)
    logs._access.json = access_json


def configured(stream: io.StringIO, log_format: str, log_level: str = "info") -> None:
    configure_logging(Settings(log_format=log_format, log_level=log_level))
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)  # it took pytest's sys.stderr


def _request(log: RequestLog, path: str = "/api/v1/monitors") -> None:
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        log.info("request", method="GET", path=path, route=path, status=200, duration_ms=1.5)


def test_a_json_request_line_has_the_keys_of_a_structlog_line(stderr: io.StringIO) -> None:
    configured(stderr, "json")
    _request(RequestLog("upwatch.http"))
    get_logger("upwatch.http").info("other", status=201)

    ours, theirs = (json.loads(line) for line in stderr.getvalue().splitlines())
    assert ours.pop("timestamp").endswith("Z")
    assert ours == {
        "event": "request", "level": "info", "logger": "upwatch.http", "request_id": "req-1",
        "method": "GET", "path": "/api/v1/monitors", "route": "/api/v1/monitors",
        "status": 200, "duration_ms": 1.5,
    }  # fmt: skip
    assert set(theirs) == {"event", "level", "logger", "timestamp", "status"}


def test_a_console_request_line_is_sorted_key_value_pairs(stderr: io.StringIO) -> None:
    configured(stderr, "console")
    _request(RequestLog("upwatch.http"))

    line = stderr.getvalue().rstrip("\n")
    assert "\n" not in line
    timestamp, rest = line.split(" ", 1)
    assert timestamp.endswith("Z")
    assert rest.startswith("[info     ] request ")
    assert rest.endswith(
        "[upwatch.http] duration_ms=1.5 method=GET path=/api/v1/monitors request_id=req-1 "
        "route=/api/v1/monitors status=200"
    )


def test_a_path_with_a_line_break_cannot_forge_a_console_line(stderr: io.StringIO) -> None:
    configured(stderr, "console")
    _request(RequestLog("upwatch.http"), path="/x\n2026-01-01T00:00:00Z [error] forged")

    lines = stderr.getvalue().splitlines()
    assert len(lines) == 1
    assert "path='/x\\n2026-01-01T00:00:00Z [error] forged'" in lines[0]


def test_no_request_line_below_the_configured_level(stderr: io.StringIO) -> None:
    configured(stderr, "json", "warning")
    _request(RequestLog("upwatch.http"))
    assert stderr.getvalue() == ""

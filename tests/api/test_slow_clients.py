"""Slow and greedy clients over raw sockets to a real server on 127.0.0.1: headers that never
finish are cut off, a body that stalls or trickles too long gets 408 `REQUEST_TIMEOUT`, a
slow but steady request still works, and connections beyond the cap get 503.

Timeouts are set short for each test. Nothing here measures time: each test waits, bounded,
for what the server does (close, answer), and fails saying what it was still waiting for.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import Serve
from tests.conftest import ApiHarness

# A real uvicorn server: slow clients and timeouts: only a socket shows them.
pytestmark = pytest.mark.real_server

WAIT_SECONDS = 15.0  # the longest any test waits for the server to close or answer
SHORT = 0.5  # the timeouts under test
STEP = 0.1  # a pause well inside SHORT

MONITOR = {
    "name": "Slowly sent",
    "kind": "http",
    "target": "https://alpha.example.com/",
    "execution_mode": "on_demand",
    "interval_seconds": 60,
}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


@contextmanager
def connection(api: ApiHarness) -> Iterator[socket.socket]:
    address = urlsplit(api.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=WAIT_SECONDS) as sock:
        yield sock


def closed_by_server(sock: socket.socket) -> bool:
    """Wait (bounded) until the server closes the connection; False if it stayed open."""
    give_up = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < give_up:
        try:
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
    return False


def answer(sock: socket.socket) -> Answer:
    """The response the server sends (bounded by the socket's timeout)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(4096)
        assert chunk, f"the server closed without answering: {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (x.partition(":") for x in lines)}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(4096)
        assert chunk, "the server closed in the middle of its answer"
        body += chunk
    return Answer(int(status_line.split()[1]), headers, json.loads(body) if body else {})


def request_head(method: str, path: str, token: str | None, length: int) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def trickle(sock: socket.socket, data: bytes, pieces: int) -> None:
    """Send `data` in `pieces` parts, STEP apart: slow, but never silent for long."""
    size = -(-len(data) // pieces)
    for start in range(0, len(data), size):
        sock.sendall(data[start : start + size])
        time.sleep(STEP)


# --- headers --------------------------------------------------------------------------


def test_a_client_that_sends_half_a_request_line_and_stalls_is_disconnected(
    serve: Serve,
) -> None:
    api = serve(header_timeout_seconds=SHORT)
    with connection(api) as sock:
        sock.sendall(b"GET /health/li")

        assert closed_by_server(sock), f"still open after {WAIT_SECONDS} s"


def test_a_client_that_connects_and_sends_nothing_is_disconnected(serve: Serve) -> None:
    api = serve(header_timeout_seconds=SHORT)
    with connection(api) as sock:
        assert closed_by_server(sock), f"still open after {WAIT_SECONDS} s"


def test_headers_trickled_a_byte_at_a_time_are_cut_off_however_steadily_they_come(
    serve: Serve,
) -> None:
    api = serve(header_timeout_seconds=SHORT)
    with connection(api) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\n")
        give_up = time.monotonic() + WAIT_SECONDS
        closed = False
        while not closed and time.monotonic() < give_up:
            try:
                sock.sendall(b"X")  # one more byte of an endless header
                time.sleep(STEP)
            except (BrokenPipeError, ConnectionResetError):
                closed = True

        assert closed or closed_by_server(sock), f"still open after {WAIT_SECONDS} s"


def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(
    serve: Serve,
) -> None:
    api = serve(keep_alive_timeout_seconds=SHORT)
    with connection(api) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert answer(sock).status == 200

        assert closed_by_server(sock), f"still open after {WAIT_SECONDS} s"


# --- bodies ---------------------------------------------------------------------------


def test_a_stalled_body_gets_408_request_timeout_and_the_connection_is_closed(
    serve: Serve,
) -> None:
    api = serve(body_idle_timeout_seconds=SHORT)
    token = api.seed.tenant().owner.token
    body = json.dumps(MONITOR).encode()
    with connection(api) as sock:
        sock.sendall(request_head("POST", "/api/v1/monitors", token, len(body)) + body[:10])
        timed_out = answer(sock)
        closed = closed_by_server(sock)

    assert timed_out.status == 408
    assert timed_out.body["code"] == "REQUEST_TIMEOUT"
    assert "stalled" in timed_out.body["error"]
    assert closed


def test_a_stalled_ping_body_gets_408_too(serve: Serve) -> None:
    api = serve(body_idle_timeout_seconds=SHORT)
    with connection(api) as sock:
        head = request_head("POST", "/ping/0190a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b", None, 100)
        sock.sendall(head + b"job output, and then nothing")
        timed_out = answer(sock)

    assert timed_out.status == 408
    assert timed_out.body["code"] == "REQUEST_TIMEOUT"


def test_a_body_trickling_past_the_overall_bound_gets_408(serve: Serve) -> None:
    api = serve(body_timeout_seconds=SHORT * 2, body_idle_timeout_seconds=WAIT_SECONDS)
    token = api.seed.tenant().owner.token
    with connection(api) as sock:
        sock.sendall(request_head("POST", "/api/v1/monitors", token, 1_000_000) + b"{")
        sock.settimeout(STEP)
        give_up = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < give_up:
            sock.sendall(b" ")  # never silent, never done
            try:
                first = sock.recv(1, socket.MSG_PEEK)
            except TimeoutError:
                continue
            assert first, "the server closed without answering"
            break
        sock.settimeout(WAIT_SECONDS)
        timed_out = answer(sock)

    assert timed_out.status == 408
    assert timed_out.body["code"] == "REQUEST_TIMEOUT"
    assert "did not arrive within" in timed_out.body["error"]


def test_a_slow_but_steady_request_is_served_normally(serve: Serve) -> None:
    # Headers and body each take longer than the body's idle timeout in all, with no pause
    # as long as it: a slow link, not a stalled one.
    api = serve(body_idle_timeout_seconds=SHORT, header_timeout_seconds=WAIT_SECONDS)
    token = api.seed.tenant().owner.token
    body = json.dumps(MONITOR).encode()
    with connection(api) as sock:
        trickle(sock, request_head("POST", "/api/v1/monitors", token, len(body)), pieces=8)
        trickle(sock, body, pieces=8)
        created = answer(sock)

    assert created.status == 201, created.body
    assert created.body["name"] == "Slowly sent"


# --- the connection cap -----------------------------------------------------------------


def test_a_request_beyond_the_connection_cap_gets_503_with_retry_after(serve: Serve) -> None:
    api = serve(max_connections=2)
    with ExitStack() as stack:
        held = [stack.enter_context(connection(api)) for _ in range(2)]
        for sock in held:  # each served once, then kept alive and idle
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert answer(sock).status == 200
        extra = stack.enter_context(connection(api))
        extra.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        refused = answer(extra)
        for sock in held:
            sock.close()
        admitted = _served_eventually(api)

    assert refused.status == 503
    assert refused.body["code"] == "SERVICE_UNAVAILABLE"
    assert int(refused.headers["retry-after"]) > 0
    assert admitted


def _served_eventually(api: ApiHarness) -> bool:
    """Once the held connections are gone, a new one is served (the count came back down)."""
    give_up = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < give_up:
        with connection(api) as sock:
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            if answer(sock).status == 200:
                return True
        time.sleep(STEP)
    pytest.fail(f"no connection was served again within {WAIT_SECONDS} s")

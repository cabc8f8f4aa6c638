"""Real receivers and the app harness for alerting tests: a local HTTP server that records
every request (webhook receiver or probe target), the app served with its dispatcher on,
and small helpers to wait for asynchronous effects."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from tests.support.accounts import Seeder, Tenant
from tests.support.engine import ManualClock
from tests.support.waiting import eventually
from upwatch.settings import Settings

CHANNELS = "/api/v1/channels"
MONITORS = "/api/v1/monitors"
HEARTBEATS = "/api/v1/heartbeats"
INCIDENTS = "/api/v1/incidents"
ALERTS = "/api/v1/alerts"
SILENCES = "/api/v1/silences"
WINDOWS = "/api/v1/maintenance-windows"
WEBHOOK_SECRET = "/api/v1/me/webhook-secret"

WAIT_SECONDS = 15.0  # the longest a test waits for an asynchronous effect
STEP_SECONDS = 0.05
POLL_SECONDS = 0.2  # the dispatcher's idle poll in these tests
QUIET_SECONDS = 1.0  # five idle polls: what was due would have been sent by then
SETTINGS: dict[str, Any] = {
    "allow_private_destinations": True,  # the receivers are on 127.0.0.1
    "dispatch_poll_seconds": POLL_SECONDS,
    "rate_limit_per_minute": 1_000_000,
    "ping_rate_limit_per_minute": 1_000_000,
}
R = TypeVar("R")
_names = itertools.count(1)


# --- a real local HTTP server: webhook receiver or probe target --------------------------


@dataclass(frozen=True)
class Hit:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float  # time.time()

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def delivery(self) -> str:
        return self.headers["upwatch-delivery"]

    @property
    def event(self) -> str:
        return self.headers["upwatch-event"]


class LocalHttp:
    """A threaded `http.server` on 127.0.0.1:<free port>. Each request is recorded, then
    answered with the next status of `script`, or `status` once the script is used up.
    `gate.clear()` holds the answers (requests are still recorded) until `gate.set()`."""

    def __init__(self, script: Sequence[int] = (), status: int = 200) -> None:
        self.status = status
        self.gate = threading.Event()
        self.gate.set()
        self._script = list(script)
        self._hits: list[Hit] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = owner._record(Hit(self.command, self.path, headers, body, time.time()))
                owner.gate.wait(WAIT_SECONDS)
                answer = b"received" if status < 300 else b"try again"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_HEAD = _answer  # noqa: N815 - http.server's hook names

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _record(self, hit: Hit) -> int:
        with self._lock:
            self._hits.append(hit)
            return self._script.pop(0) if self._script else self.status

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def hits(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


Local = Callable[..., LocalHttp]


# --- the app -------------------------------------------------------------------------------


@dataclass
class Upwatch:
    """The app served over real HTTP, with one organization and its owner's client."""

    base_url: str
    settings: Settings
    seed: Seeder
    tenant: Tenant
    http: httpx.Client
    clock: ManualClock | None


Start = Callable[..., Upwatch]


def manual_clock() -> ManualClock:
    """Stands still at the real time (whole seconds, so stored times compare exactly)."""
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


# --- helpers -------------------------------------------------------------------------------


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def arrived(receiver: LocalHttp, count: int, what: str) -> list[Hit]:
    """Wait until the receiver has at least `count` requests; all of them."""
    return eventually(lambda: receiver.hits if len(receiver.hits) >= count else None, what)


def stays_quiet(receivers: Sequence[LocalHttp], seconds: float = QUIET_SECONDS) -> None:
    """Nothing more reaches these receivers for `seconds` (several dispatcher passes)."""
    before = [len(receiver.hits) for receiver in receivers]
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        now = [len(receiver.hits) for receiver in receivers]
        assert now == before, f"unexpected deliveries: {before} then {now}"
        time.sleep(STEP_SECONDS)


def webhook_secret(http: httpx.Client) -> str:
    """The organization's signing secret (made on first read)."""
    return str(ok(http.get(WEBHOOK_SECRET))["secret"])


def webhook_channel(http: httpx.Client, receiver: LocalHttp, **fields: Any) -> dict[str, Any]:
    body = {
        "name": f"hook {next(_names)}",
        "kind": "webhook",
        "config": {"url": receiver.url()},
        **fields,
    }
    return ok(http.post(CHANNELS, json=body), 201)  # type: ignore[no-any-return]


def create_heartbeat(http: httpx.Client, name: str, **fields: Any) -> dict[str, Any]:
    # A long period: no deadline passes while a ManualClock is moved minutes ahead.
    body = {"name": name, "period_seconds": 86400, "grace_seconds": 3600, **fields}
    return ok(http.post(HEARTBEATS, json=body), 201)  # type: ignore[no-any-return]


def ping(http: httpx.Client, heartbeat: dict[str, Any], signal: str = "") -> None:
    """The heartbeat's public ping path on the test server; answers after the commit."""
    path = urlsplit(heartbeat["ping_url"]).path + (f"/{signal}" if signal else "")
    response = http.post(path)
    assert response.status_code == 200, response.text


def create_monitor(
    http: httpx.Client, name: str, target: LocalHttp, **fields: Any
) -> dict[str, Any]:
    """An on-demand HTTP monitor of `target`: down after one failure, up after one success."""
    body = {
        "name": name,
        "kind": "http",
        "target": target.url("/health"),
        "interval_seconds": 60,
        "timeout_ms": 5000,
        "execution_mode": "on_demand",
        "failure_threshold": 1,
        "recovery_threshold": 1,
        **fields,
    }
    return ok(http.post(MONITORS, json=body), 201)  # type: ignore[no-any-return]


def check(http: httpx.Client, monitor: dict[str, Any]) -> dict[str, Any]:
    """Check an on-demand monitor now; the monitor once the result is committed."""
    return ok(http.post(f"{MONITORS}/{monitor['id']}/run"))["monitor"]  # type: ignore[no-any-return]


def alerts(http: httpx.Client, path: str = ALERTS, **params: Any) -> list[dict[str, Any]]:
    return ok(http.get(path, params={"limit": 100, **params}))["data"]  # type: ignore[no-any-return]


def alerts_of(http: httpx.Client, subject: dict[str, Any]) -> list[dict[str, Any]]:
    """The subject's alerts (monitor or heartbeat), oldest first."""
    field = "heartbeat_id" if "ping_url" in subject else "monitor_id"
    return [alert for alert in reversed(alerts(http)) if alert[field] == subject["id"]]


def only_alert(http: httpx.Client, subject: dict[str, Any]) -> dict[str, Any]:
    found = alerts_of(http, subject)
    assert len(found) == 1, found
    return found[0]


def delivery_settled(
    http: httpx.Client, subject: dict[str, Any], status: str, attempts: int
) -> dict[str, Any] | None:
    """The subject's single alert once its single delivery has this status and attempts."""
    found = alerts_of(http, subject)
    if len(found) != 1 or len(found[0]["deliveries"]) != 1:
        return None
    delivery = found[0]["deliveries"][0]
    done = delivery["status"] == status and delivery["attempts"] == attempts
    return found[0] if done else None


def open_incidents(http: httpx.Client, subject: dict[str, Any]) -> list[dict[str, Any]]:
    field = "heartbeat_id" if "ping_url" in subject else "monitor_id"
    found = ok(http.get(INCIDENTS, params={"limit": 100}))["data"]
    return [i for i in found if i[field] == subject["id"] and i["state"] != "resolved"]


def about(hit: Hit, subject: dict[str, Any]) -> bool:
    subject_of = hit.json()["data"]["subject"]
    return subject_of is not None and subject_of["id"] == subject["id"]

"""The SSRF guard at the socket layer, for code that opens its own connections.

Apprise delivers through dozens of plugins and the client libraries they use (requests and
urllib3, smtplib, raw TCP and UDP sockets), each resolving names and following redirects its
own way: a list of schemes cannot keep up with them. Python raises an audit event for every
`connect`, `sendto` and `sendmsg` of any socket, carrying the address actually used, after
any name was resolved. The hook installed here refuses every non-public address while a
`public_only_connections()` block is active in the current context, so the check applies to
the very address connected to (no check-then-resolve-again window), to every redirect hop
(each is a new connection) and to every plugin alike.

The block is a context variable, not a process-wide switch: other threads and the event
loop (the engine's probes, the database, Redis) are never affected. Apprise hands the
caller's context on to the worker threads it starts (`submit_with_context`), so its own pools
are guarded too. A connection by name (the C library resolving inside `connect`) cannot be
pinned to a checked address and is refused, as are local (Unix) sockets.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from upwatch.net.guard import AddressNotAllowedError, is_ip_literal, is_public_address

_EVENTS = frozenset({"socket.connect", "socket.sendto", "socket.sendmsg"})
_INTERNET = (socket.AF_INET, socket.AF_INET6)
_LOCAL = "a local socket; only public addresses are allowed"
_BY_NAME = "a connection by name cannot be checked; only public addresses are allowed"


@dataclass(slots=True)
class Refusals:
    """What the guard refused inside one block (from any of its threads), first first."""

    errors: list[AddressNotAllowedError] = field(default_factory=list)


_active: ContextVar[Refusals | None] = ContextVar("upwatch_socket_guard", default=None)
_install_lock = threading.Lock()
_installed = False


def _install() -> None:
    """Audit hooks cannot be removed, so this one is added once, on first use; outside a
    block it returns after a set lookup and a context-variable read."""
    global _installed  # noqa: PLW0603 - one hook per process
    with _install_lock:
        if not _installed:
            sys.addaudithook(_audit)
            _installed = True


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event not in _EVENTS:
        return
    refusals = _active.get()
    if refusals is None:
        return
    error = refusal(args[0], args[1])
    if error is not None:
        refusals.errors.append(error)
        raise error


def refusal(sock: Any, address: Any) -> AddressNotAllowedError | None:
    """Why `sock` may not reach `address` when only public addresses are allowed; None if
    it may. A `sendmsg` on a connected socket has no address: it was checked at connect."""
    if address is None:
        return None
    if getattr(sock, "family", None) not in _INTERNET or not isinstance(address, tuple):
        return AddressNotAllowedError(str(address), [], detail=_LOCAL)
    host = str(address[0])
    if not is_ip_literal(host):
        return AddressNotAllowedError(host, [], detail=_BY_NAME)
    if not is_public_address(host):
        return AddressNotAllowedError(host, [host])
    return None


@contextmanager
def public_only_connections() -> Iterator[Refusals]:
    """Inside the block (and in the threads that inherit its context) every connection to a
    non-public address fails with `AddressNotAllowedError`; the refusals are collected."""
    _install()
    refusals = Refusals()
    token = _active.set(refusals)
    try:
        yield refusals
    finally:
        _active.reset(token)

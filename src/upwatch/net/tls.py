"""TLS client contexts for probes, and a way to see the handshake aiohttp performs.

aiohttp's trace hooks report when a connection starts and when it is ready, but the TCP
connect and the TLS handshake happen inside one call in between. The TLS object is made
(`SSLContext.wrap_bio`) the moment the TCP connection is up, by the task that asked for the
connection, on the stdlib loop and on uvloop alike; the contexts built here note that moment,
and the TLS object itself, in whatever `Handshake` the current task is watching.
"""

from __future__ import annotations

import functools
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class Handshake:
    """When the TLS handshake of the watched connection started, and its TLS object."""

    started: float | None = None
    ssl_object: ssl.SSLObject | None = None


_watched: ContextVar[Handshake | None] = ContextVar("upwatch_tls_handshake", default=None)


class _WatchedContext(ssl.SSLContext):
    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        ssl_object = super().wrap_bio(incoming, outgoing, server_side, server_hostname, session)
        handshake = _watched.get()
        if handshake is not None:
            handshake.started = time.perf_counter()
            handshake.ssl_object = ssl_object
        return ssl_object


@contextmanager
def watching(handshake: Handshake) -> Iterator[Handshake]:
    """Record into `handshake` the TLS connections this task opens inside the block."""
    token = _watched.set(handshake)
    try:
        yield handshake
    finally:
        _watched.reset(token)


@functools.lru_cache(maxsize=64)
def client_context(*, verify: bool = True, ca_bundle_pem: str | None = None) -> ssl.SSLContext:
    """A client context: the system trust store, or only the CAs of `ca_bundle_pem`.

    Cached because building one loads the trust store, which costs milliseconds; a context
    is never changed after it is built, so checks can share it.
    """
    context = _WatchedContext(ssl.PROTOCOL_TLS_CLIENT)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif ca_bundle_pem:
        context.load_verify_locations(cadata=ca_bundle_pem)
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    return context


def check_ca_bundle(pem: str) -> str:
    """`pem` unchanged when it holds at least one loadable certificate; ValueError if not."""
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise ValueError("must hold at least one PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=pem)
    except (ssl.SSLError, ValueError) as exc:
        raise ValueError(f"is not a valid PEM certificate bundle: {exc}") from None
    return pem


def peer_certificate(ssl_object: ssl.SSLObject | None) -> bytes | None:
    """The peer's certificate (DER) once the handshake is done, else None."""
    if ssl_object is None:
        return None
    try:
        return ssl_object.getpeercert(binary_form=True)
    except ValueError:  # the handshake never completed
        return None

"""Certificates for TLS tests: a trustme CA, and server contexts with chosen names and dates."""

from __future__ import annotations

import ssl
from datetime import datetime

import trustme


def ca_pem(ca: trustme.CA) -> str:
    """The CA certificate as the PEM text probes take in `ca_bundle_pem`."""
    return ca.cert_pem.bytes().decode()


def server_context(
    ca: trustme.CA,
    *identities: str,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> ssl.SSLContext:
    """A server context presenting a certificate from `ca` for `identities` (default: the
    loopback names)."""
    cert = ca.issue_cert(
        *(identities or ("localhost", "127.0.0.1")), not_before=not_before, not_after=not_after
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context

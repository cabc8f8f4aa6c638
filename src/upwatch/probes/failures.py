"""Naming why a connection failed: one error code and one human reason per failure."""

from __future__ import annotations

import socket
import ssl

from upwatch.net.guard import AddressNotAllowedError
from upwatch.probes.base import ProbeError

# OpenSSL X509_V_ERR_* codes (include/openssl/x509_vfy.h), stable across OpenSSL versions.
_CERT_EXPIRED = 10
_HOSTNAME_MISMATCH = 62
_IP_ADDRESS_MISMATCH = 64


def classify_tls_error(error: ssl.SSLError) -> tuple[ProbeError, str]:
    """The error code and a human reason for a failed handshake.

    A certificate that fails verification for any reason other than its age or its names
    (unknown issuer, self-signed, incomplete chain, revoked, ...) is not trusted.
    """
    if isinstance(error, ssl.SSLCertVerificationError):
        message = error.verify_message or error.reason or str(error)
        if error.verify_code == _CERT_EXPIRED:
            return ProbeError.CERT_EXPIRED, f"certificate has expired ({message})"
        if error.verify_code in (_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH):
            return ProbeError.CERT_HOSTNAME_MISMATCH, f"certificate does not match: {message}"
        return ProbeError.CERT_UNTRUSTED, f"certificate is not trusted: {message}"
    return ProbeError.TLS_ERROR, f"TLS handshake failed: {error.reason or error}"


def classify_connection_error(error: OSError, host: str) -> tuple[ProbeError, str]:
    """The error code and reason for a failure to resolve, reach or handshake with `host`."""
    if isinstance(error, AddressNotAllowedError):
        return ProbeError.ADDRESS_NOT_ALLOWED, str(error)
    if isinstance(error, ssl.SSLError):
        return classify_tls_error(error)
    if isinstance(error, socket.gaierror):
        return ProbeError.DNS_FAILURE, f"{host} does not resolve: {error.strerror or error}"
    if isinstance(error, ConnectionRefusedError):
        return ProbeError.CONNECTION_REFUSED, f"{host} refused the connection"
    return ProbeError.CONNECTION_FAILED, f"connection to {host} failed: {error.strerror or error}"

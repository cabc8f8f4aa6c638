"""Reading the fields of a peer certificate that monitoring cares about."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from upwatch.probes.base import CertificateInfo


def certificate_info(der: bytes, now: datetime) -> CertificateInfo:
    """The fields of a DER certificate that monitoring cares about."""
    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=not_after,
        # timedelta.days floors, so a certificate that expired an hour ago has -1 days left.
        days_left=(not_after - now.astimezone(UTC)).days,
        serial=format(cert.serial_number, "x"),
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        san=_subject_alt_names(cert),
    )


def _subject_alt_names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    names = extension.value.get_values_for_type(x509.DNSName)
    addresses = extension.value.get_values_for_type(x509.IPAddress)
    return (*names, *(str(address) for address in addresses))

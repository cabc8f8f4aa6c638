"""Proving a domain is yours: a DNS TXT record, or a file served from it."""

from __future__ import annotations

import asyncio

import aiohttp
import dns.asyncresolver
import dns.exception

from upwatch.net.guard import (
    AddressNotAllowedError,
    PublicOnlyResolver,
    allowed_addresses,
    is_ip_literal,
)

LOOKUP_SECONDS = 10.0
MAX_FILE_BYTES = 4096


async def txt_values(name: str) -> list[str]:
    """The TXT strings published at `name` (empty if none or on failure)."""
    try:
        async with asyncio.timeout(LOOKUP_SECONDS):
            answer = await dns.asyncresolver.resolve(name, "TXT")
    except (dns.exception.DNSException, TimeoutError):
        return []
    return [b"".join(record.strings).decode(errors="replace") for record in answer]


async def fetch_text(url: str, *, host: str, public_only: bool) -> str | None:
    """The start of the document at `url`, or None if it cannot be fetched (status >= 400)."""
    if is_ip_literal(host):
        try:
            allowed_addresses(host, [host], public_only=public_only)
        except AddressNotAllowedError:
            return None
    resolver = aiohttp.ThreadedResolver()
    connector = aiohttp.TCPConnector(
        resolver=PublicOnlyResolver(resolver) if public_only else resolver, force_close=True
    )
    try:
        async with (
            asyncio.timeout(LOOKUP_SECONDS),
            aiohttp.ClientSession(connector=connector) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            if response.status >= 400:
                return None
            return (await response.content.read(MAX_FILE_BYTES)).decode(errors="replace")
    except (aiohttp.ClientError, TimeoutError, OSError):
        return None

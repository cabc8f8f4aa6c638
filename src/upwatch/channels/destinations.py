"""The SSRF guard at save time: a host a user chose must resolve to public addresses only,
unless the operator allows private destinations. (Every send is guarded again.)"""

from __future__ import annotations

from upwatch.net.connect import resolve


async def guard_host(host: str | None, *, public_only: bool) -> None:
    """Raises AddressNotAllowedError (or OSError if the name does not resolve)."""
    if host is not None and public_only:
        await resolve(host, public_only=True)

"""The SSRF guard: which addresses a probe may reach when only public targets are allowed.

The check runs on resolved addresses, never on names, and the connection then goes to the
very address that was checked: a name that resolves to a public address for the check and
to 127.0.0.1 for the connection (DNS rebinding) cannot slip through. With `public_only` off,
the default for a self-hosted instance watching its own network, every address is allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = IPv4Address | IPv6Address

# Ranges that `ipaddress` does not already class as private, reserved, multicast, ...:
# shared address space for carrier-grade NAT, and the local-use NAT64 prefix.
_BLOCKED_NETWORKS: tuple[IPv4Network | IPv6Network, ...] = (
    IPv4Network("100.64.0.0/10"),
    IPv6Network("64:ff9b:1::/48"),
)
_NAT64 = IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = IPv6Network("::/96")


class AddressNotAllowedError(OSError):
    """Every address of a target is private, loopback, ... while only public ones are allowed.

    An `OSError`, as resolvers are expected to raise, so aiohttp carries it out unchanged as
    the cause of its connector error.
    """

    def __init__(self, host: str, addresses: Sequence[str], *, detail: str | None = None) -> None:
        shown = ", ".join(addresses) if addresses else "no address"
        if detail is not None:
            super().__init__(f"{host}: {detail}")
        elif len(addresses) == 1 and addresses[0] == host:
            super().__init__(f"{host} is not a public address; only public addresses are allowed")
        else:
            super().__init__(f"{host} resolves to {shown}; only public addresses are allowed")
        self.host = host
        self.addresses = tuple(addresses)


def _carried_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv4-mapped or NAT64 address stands for: its packets go there."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address a transition address (6to4, Teredo, IPv4-compatible) embeds."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _IPV4_COMPATIBLE:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: str | IPAddress) -> bool:
    """True when `address` is a globally routable unicast address.

    Refused: loopback, private, link-local, multicast, reserved, unspecified, documentation
    and benchmarking ranges, carrier-grade NAT (100.64.0.0/10), unique-local IPv6, and IPv6
    addresses that carry or embed one of those IPv4 addresses (mapped, NAT64, 6to4, Teredo).
    A string that is not an IP address is not public.
    """
    if isinstance(address, str):
        try:
            address = ipaddress.ip_address(address)
        except ValueError:
            return False
    if isinstance(address, IPv6Address):
        carried = _carried_ipv4(address)
        if carried is not None:
            return is_public_address(carried)
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public_address(embedded):
            return False
    if (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, IPv6Address) and address.is_site_local)
    ):
        return False
    if any(address in network for network in _BLOCKED_NETWORKS):
        return False
    return address.is_global


def allowed_addresses(host: str, addresses: Iterable[str], *, public_only: bool) -> list[str]:
    """The addresses a probe may connect to, in their original order.

    Raises `AddressNotAllowedError` when `public_only` leaves none.
    """
    candidates = list(addresses)
    if not public_only:
        return candidates
    allowed = [address for address in candidates if is_public_address(address)]
    if not allowed:
        raise AddressNotAllowedError(host, candidates)
    return allowed


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class PublicOnlyResolver(AbstractResolver):
    """An aiohttp resolver that drops every non-public address its inner resolver returns.

    aiohttp does not consult the resolver for IP-literal hosts, so callers must check those
    themselves with `allowed_addresses`.
    """

    def __init__(self, inner: AbstractResolver) -> None:
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        kept = allowed_addresses(host, (result["host"] for result in results), public_only=True)
        return [result for result in results if result["host"] in kept]

    async def close(self) -> None:
        await self._inner.close()

"""A tiny real DNS server (UDP, dnspython) on 127.0.0.1:<free port> serving a fixed zone.

Names it does not know get NXDOMAIN; known names without records of the asked type get an
empty answer (NOERROR, no data). With `silent=True` it never answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

# name → record type → values in zone-file syntax
Zone = dict[str, dict[str, list[str]]]


@dataclass
class DnsServer:
    port: int = 0
    queries: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone, state: DnsServer, silent: bool) -> None:
        self.zone = {name.lower().rstrip(".") + ".": records for name, records in zone.items()}
        self.state = state
        self.silent = silent
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.state.queries += 1
        if self.silent or self.transport is None:
            return
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        records = self.zone.get(question.name.to_text().lower())
        if records is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            record_type = dns.rdatatype.to_text(question.rdtype)
            values = records.get(record_type, [])
            if values:
                rrset = dns.rrset.from_text_list(question.name, 300, "IN", record_type, values)
                response.answer.append(rrset)
        self.transport.sendto(response.to_wire(), addr)


@asynccontextmanager
async def serving_dns(zone: Zone, *, silent: bool = False) -> AsyncIterator[DnsServer]:
    state = DnsServer()
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Responder(zone, state, silent), local_addr=("127.0.0.1", 0)
    )
    state.port = transport.get_extra_info("sockname")[1]
    try:
        yield state
    finally:
        transport.close()

"""Every probe kind, one line each. Nothing else in Upwatch switches on a probe's kind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeAlias

from pydantic import Field, TypeAdapter

from upwatch.probes.base import Probe, ProbeConfig
from upwatch.probes.dns import DnsConfig, DnsProbe
from upwatch.probes.http import HttpConfig, HttpProbe
from upwatch.probes.ping import PingConfig, PingProbe
from upwatch.probes.tcp import TcpConfig, TcpProbe
from upwatch.probes.tls import TlsConfig, TlsProbe

PROBES: dict[str, Probe[Any]] = {
    HttpProbe.kind: HttpProbe(),
    TcpProbe.kind: TcpProbe(),
    PingProbe.kind: PingProbe(),
    DnsProbe.kind: DnsProbe(),
    TlsProbe.kind: TlsProbe(),
}

# The API's monitor schemas take this: pydantic picks the model by the `kind` field.
config_union: TypeAlias = Annotated[
    HttpConfig | TcpConfig | PingConfig | DnsConfig | TlsConfig, Field(discriminator="kind")
]

_configs: TypeAdapter[config_union] = TypeAdapter(config_union)


def parse_config(data: Mapping[str, Any]) -> ProbeConfig:
    """The typed config of a stored or submitted `{"kind": ..., ...}`; ValidationError if bad."""
    return _configs.validate_python(data)

"""What a probe saw (`details`) is kept with each check result, on each backend: real probes
against real loopback servers, through the engine's runner, evaluate and writer."""

from __future__ import annotations

import asyncio

from tests.support.dns_server import serving_dns
from tests.support.engine import World, running
from tests.support.http_target import serving_http
from tests.support.sockets import serving_tcp


async def pong(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readline()
    writer.write(b"+PONG\r\n")
    await writer.drain()


async def test_a_tcp_check_keeps_the_address_it_connected_to_and_the_reply_it_read(
    world: World,
) -> None:
    async with serving_tcp(pong) as server:
        monitor = await world.monitor(
            f"127.0.0.1:{server.port}",
            kind="tcp",
            config={"kind": "tcp", "send": "PING\r\n", "expect": "PONG"},
            execution_mode="on_demand",
        )
        async with running(world.engine(), schedule_checks=False) as engine:
            await engine.run_now(monitor.id)

    [result] = await world.results(monitor.id)
    assert result.ok
    assert result.details == {"address": "127.0.0.1", "reply": "+PONG\r\n"}
    # Not an HTTP check: no status code, one request, counted as HTTP-ish checks count it.
    assert (result.status_code, result.requests, result.failed_requests) == (None, 1, 0)


async def test_a_dns_check_keeps_the_answers_their_ttl_and_the_nameserver(world: World) -> None:
    zone = {"svc.test": {"A": ["10.0.0.2", "10.0.0.1"]}}
    async with serving_dns(zone) as server:
        monitor = await world.monitor(
            "svc.test",
            kind="dns",
            config={"kind": "dns", "record_type": "A", "resolver": server.address},
            execution_mode="on_demand",
        )
        async with running(world.engine(), schedule_checks=False) as engine:
            await engine.run_now(monitor.id)

    [result] = await world.results(monitor.id)
    assert result.ok, result.reason
    assert result.details == {
        "answers": ["10.0.0.1", "10.0.0.2"],
        "ttl": 300,
        "nameserver": "127.0.0.1",
    }


async def test_a_failed_check_keeps_what_the_probe_saw_too(world: World) -> None:
    zone = {"svc.test": {"A": ["10.0.0.1"]}}
    async with serving_dns(zone) as server:
        monitor = await world.monitor(
            "svc.test",
            kind="dns",
            config={
                "kind": "dns",
                "resolver": server.address,
                "expected": ["10.9.9.9"],
            },
            execution_mode="on_demand",
        )
        async with running(world.engine(), schedule_checks=False) as engine:
            await engine.run_now(monitor.id)

    [result] = await world.results(monitor.id)
    assert (result.ok, result.error_code) == (False, "DNS_MISMATCH")
    assert result.details is not None
    assert result.details["answers"] == ["10.0.0.1"]


async def test_an_http_check_never_keeps_the_credentials_of_its_url(world: World) -> None:
    async with serving_http() as target:
        url = target.url("/ok").replace("http://", "http://alice:s3cret@")
        monitor = await world.monitor(url, execution_mode="on_demand")
        async with running(world.engine(), schedule_checks=False) as engine:
            await engine.run_now(monitor.id)

    [result] = await world.results(monitor.id)
    assert result.ok, result.reason
    assert result.details is not None
    assert result.details["url"] == target.url("/ok")
    assert "s3cret" not in str(result.details)
    assert "alice" not in str(result.details)

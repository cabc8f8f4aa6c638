"""Targets a probe cannot use are reported as INVALID_TARGET, before any lookup."""

from __future__ import annotations

import pytest

from upwatch.probes.base import ProbeContext, ProbeError, run_concurrently
from upwatch.probes.http import HttpConfig, HttpProbe
from upwatch.probes.registry import PROBES, parse_config

UNENCODABLE = "a" * 64 + ".test"  # a DNS label has at most 63 characters


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        ("http", f"http://{UNENCODABLE}/"),
        ("http", "http://exa mple.test/"),
        ("tcp", f"{UNENCODABLE}:80"),
        ("tcp", "[zz::1]:80"),
        ("tls", f"{UNENCODABLE}:443"),
        ("ping", UNENCODABLE),
        ("ping", "   "),
        ("dns", UNENCODABLE),
    ],
)
async def test_a_host_name_that_cannot_exist_is_an_invalid_target(
    kind: str, target: str, context: ProbeContext
) -> None:
    result = await PROBES[kind].run(target, parse_config({"kind": kind}), 5.0, context)

    assert not result.ok
    assert result.error_code is ProbeError.INVALID_TARGET


async def test_running_concurrently_needs_at_least_one_check(context: ProbeContext) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await run_concurrently(HttpProbe(), "http://127.0.0.1/", HttpConfig(), 1.0, context, 0)

"""The HTTP probe against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.http_target import CREDENTIALS, HttpTarget
from tests.support.sockets import closed_port, hang_up, serving_tcp
from upwatch.probes.base import ProbeContext, ProbeError, ProbeResult, run_concurrently
from upwatch.probes.http import HttpConfig, HttpProbe

TIMEOUT = 5.0


async def check(url: str, context: ProbeContext, **config: Any) -> ProbeResult:
    return await HttpProbe().run(url, HttpConfig(**config), TIMEOUT, context)


async def test_a_page_that_answers_200_is_up(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    result = await check(http_target.url("/ok"), context)

    assert result.ok
    assert result.error_code is None
    assert result.status_code == 200
    assert result.reason == "HTTP 200 OK"
    assert result.latency_ms is not None
    assert result.certificate is None
    assert result.details["body_bytes"] == len("hello upwatch")


@pytest.mark.parametrize(
    ("status", "expected", "ok"),
    [
        (204, None, True),
        (503, None, False),
        (503, [503], True),
        (404, ["4xx"], True),
        (404, [200, "5xx"], False),
        (201, ["200"], False),
    ],
)
async def test_the_status_must_be_one_of_the_expected_codes_or_classes(
    http_target: HttpTarget,
    context: ProbeContext,
    status: int,
    expected: list[int | str] | None,
    ok: bool,
) -> None:
    options = {} if expected is None else {"expected_status": expected}
    result = await check(http_target.url(f"/status/{status}"), context, **options)

    assert result.ok is ok
    assert result.status_code == status
    if not ok:
        assert result.error_code is ProbeError.UNEXPECTED_STATUS
        assert str(status) in result.reason


async def test_redirects_are_followed_to_the_final_page(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    result = await check(http_target.url("/redirect/3"), context)

    assert result.ok
    assert result.status_code == 200
    assert result.details["redirects"] == 3
    assert result.details["url"] == http_target.url("/ok")


async def test_a_redirect_is_the_answer_when_redirects_are_not_followed(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    not_followed = await check(http_target.url("/redirect/1"), context, follow_redirects=False)
    accepted = await check(
        http_target.url("/redirect/1"), context, follow_redirects=False, expected_status=[302]
    )

    assert not_followed.error_code is ProbeError.UNEXPECTED_STATUS
    assert not_followed.status_code == 302
    assert accepted.ok
    assert http_target.hits["/ok"] == 0


async def test_a_redirect_loop_fails_as_too_many_redirects(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    result = await check(http_target.url("/loop"), context, max_redirects=4)

    assert result.error_code is ProbeError.TOO_MANY_REDIRECTS
    assert result.reason == "more than 4 redirects"
    assert http_target.hits["/loop"] == 5


async def test_a_chain_longer_than_max_redirects_fails(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    result = await check(http_target.url("/redirect/3"), context, max_redirects=2)

    assert result.error_code is ProbeError.TOO_MANY_REDIRECTS


async def test_a_post_redirected_with_303_continues_as_a_get(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    result = await check(http_target.url("/see-other"), context, method="POST", body="form")

    assert result.ok
    assert [(r.method, r.path) for r in http_target.received] == [
        ("POST", "/see-other"),
        ("GET", "/echo"),
    ]


async def test_a_slow_server_is_reported_as_a_timeout(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    result = await HttpProbe().run(http_target.url("/slow"), HttpConfig(), 0.3, context)

    assert not result.ok
    assert result.error_code is ProbeError.TIMEOUT
    assert result.phases.total_ms is not None


async def test_a_keyword_must_be_in_the_body(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    present = await check(http_target.url("/ok"), context, keyword="upwatch")
    missing = await check(http_target.url("/ok"), context, keyword="goodbye")

    assert present.ok
    assert missing.error_code is ProbeError.KEYWORD_MISSING
    assert "goodbye" in missing.reason


async def test_a_forbidden_keyword_must_not_be_in_the_body(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    absent = await check(http_target.url("/ok"), context, keyword_absent="error")
    present = await check(http_target.url("/ok"), context, keyword_absent="hello")

    assert absent.ok
    assert present.error_code is ProbeError.KEYWORD_PRESENT


@pytest.mark.parametrize(
    "assertion",
    [
        {"path": "data.items[0].status", "operator": "eq", "value": "up"},
        {"path": "data.items[0].count", "operator": "ge", "value": 3},
        {"path": "data.items[-1].count", "operator": "lt", "value": 10},
        {"path": "data.items[0].status", "operator": "contains", "value": "u"},
        {"path": "data.items", "operator": "exists"},
        {"path": "data.items[0].status", "operator": "ne", "value": "down"},
    ],
)
async def test_a_json_assertion_that_holds_passes(
    http_target: HttpTarget, context: ProbeContext, assertion: dict[str, Any]
) -> None:
    result = await check(http_target.url("/json"), context, json_assertion=assertion)

    assert result.ok, result.reason


@pytest.mark.parametrize(
    ("assertion", "reason"),
    [
        ({"path": "data.items[0].status", "value": "down"}, "data.items[0].status is 'up'"),
        ({"path": "data.items[0].count", "operator": "gt", "value": 3}, "expected gt 3"),
        ({"path": "data.items[5].status", "operator": "exists"}, "is not in the JSON body"),
        ({"path": "data.missing", "value": 1}, "data.missing is not in the JSON body"),
    ],
)
async def test_a_json_assertion_that_fails_says_why(
    http_target: HttpTarget, context: ProbeContext, assertion: dict[str, Any], reason: str
) -> None:
    result = await check(http_target.url("/json"), context, json_assertion=assertion)

    assert result.error_code is ProbeError.ASSERTION_FAILED
    assert reason in result.reason


async def test_a_json_assertion_on_a_body_that_is_not_json_fails(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    result = await check(
        http_target.url("/ok"), context, json_assertion={"path": "a", "operator": "exists"}
    )

    assert result.error_code is ProbeError.ASSERTION_FAILED
    assert result.reason == "the body is not JSON"


async def test_a_head_request_reads_no_body(http_target: HttpTarget, context: ProbeContext) -> None:
    result = await check(http_target.url("/ok"), context, method="HEAD")

    assert result.ok
    assert result.details["body_bytes"] == 0
    assert http_target.received[0].method == "HEAD"


async def test_a_post_sends_its_body(http_target: HttpTarget, context: ProbeContext) -> None:
    result = await check(
        http_target.url("/echo"),
        context,
        method="POST",
        body='{"ping": true}',
        keyword='"body": "{\\"ping\\": true}"',
    )

    assert result.ok, result.reason
    assert http_target.received[0].method == "POST"
    assert http_target.received[0].body == b'{"ping": true}'


async def test_configured_headers_are_sent(http_target: HttpTarget, context: ProbeContext) -> None:
    result = await check(http_target.url("/echo"), context, headers={"X-Probe": "yes"})

    assert result.ok
    headers = http_target.received[0].headers
    assert headers["X-Probe"] == "yes"
    assert headers["User-Agent"].startswith("Upwatch/")


async def test_basic_auth_opens_a_protected_page(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    username, password = CREDENTIALS
    allowed = await check(
        http_target.url("/auth"), context, basic_auth={"username": username, "password": password}
    )
    refused = await check(http_target.url("/auth"), context)

    assert allowed.ok
    assert refused.error_code is ProbeError.UNEXPECTED_STATUS
    assert refused.status_code == 401


async def test_credentials_are_not_sent_to_another_origin_after_a_redirect(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    elsewhere = http_target.url("/auth", host="localhost")
    username, password = CREDENTIALS
    result = await check(
        http_target.url(f"/to?url={elsewhere}"),
        context,
        basic_auth={"username": username, "password": password},
    )

    assert result.status_code == 401
    assert "Authorization" in http_target.received[0].headers
    assert "Authorization" not in http_target.received[1].headers


async def test_every_phase_of_a_plain_http_check_is_measured(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    result = await check(http_target.url("/ok", host="localhost"), context)

    phases = result.phases
    parts = [phases.dns_ms, phases.connect_ms, phases.ttfb_ms, phases.transfer_ms]
    assert all(part is not None and part >= 0 for part in parts), phases
    assert phases.tls_ms is None
    assert phases.total_ms is not None
    assert sum(part for part in parts if part is not None) <= phases.total_ms
    assert result.latency_ms == phases.total_ms


async def test_an_ip_address_needs_no_dns_lookup(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    result = await check(http_target.url("/ok"), context)

    assert result.phases.dns_ms == 0.0


async def test_a_closed_port_is_connection_refused(context: ProbeContext) -> None:
    result = await check(f"http://127.0.0.1:{closed_port()}/", context)

    assert not result.ok
    assert result.error_code is ProbeError.CONNECTION_REFUSED
    assert result.latency_ms is None


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/", "not a url", "http:///path"])
async def test_a_target_that_is_not_an_http_url_is_invalid(
    target: str, context: ProbeContext
) -> None:
    result = await check(target, context)

    assert result.error_code is ProbeError.INVALID_TARGET


async def test_concurrent_checks_are_summarised(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    tick = await run_concurrently(
        HttpProbe(), http_target.url("/ok"), HttpConfig(), TIMEOUT, context, 5
    )

    assert http_target.hits["/ok"] == 5
    assert tick.ok
    assert tick.failed == 0
    assert len(tick.results) == 5
    assert tick.error_code is None
    assert tick.min_ms is not None
    assert tick.avg_ms is not None
    assert tick.max_ms is not None
    assert tick.min_ms <= tick.avg_ms <= tick.max_ms


async def test_concurrent_checks_report_the_first_failure(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    tick = await run_concurrently(
        HttpProbe(), http_target.url("/status/500"), HttpConfig(), TIMEOUT, context, 5
    )

    assert http_target.hits["/status/500"] == 5
    assert not tick.ok
    assert tick.failed == 5
    assert tick.error_code is ProbeError.UNEXPECTED_STATUS
    assert "HTTP 500" in tick.reason


async def test_a_server_that_hangs_up_without_answering_is_a_connection_failure(
    context: ProbeContext,
) -> None:
    async with serving_tcp(hang_up) as server:
        result = await check(f"http://127.0.0.1:{server.port}/", context)

    assert result.error_code is ProbeError.CONNECTION_FAILED
    assert server.accepted == 1

"""Probe configs: defaults, field-level validation with clear messages, the registry."""

from __future__ import annotations

from typing import Any

import pytest
import trustme
from pydantic import BaseModel, ValidationError

from tests.support.certificates import ca_pem
from upwatch.probes.base import ProbeConfig
from upwatch.probes.dns import DnsConfig
from upwatch.probes.http import HttpConfig
from upwatch.probes.ping import PingConfig
from upwatch.probes.registry import PROBES, parse_config
from upwatch.probes.tcp import TcpConfig
from upwatch.probes.tls import TlsConfig


def error_of(model: type[BaseModel], **data: Any) -> tuple[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    first = caught.value.errors()[0]
    return first["loc"], first["msg"]


def test_an_http_config_has_useful_defaults() -> None:
    config = HttpConfig()

    assert config.method == "GET"
    assert config.expected_status == ["2xx"]
    assert config.follow_redirects is True
    assert config.max_redirects == 5
    assert config.verify_tls is True


def test_expected_statuses_are_codes_or_classes() -> None:
    config = HttpConfig(expected_status=[200, "3XX", "404"])

    assert config.expected_status == [200, "3xx", 404]
    assert error_of(HttpConfig, expected_status=["6xx"])[1].endswith(
        "'6xx' is neither a status code nor a class like '2xx'"
    )
    assert "not an HTTP status code" in error_of(HttpConfig, expected_status=[42])[1]


@pytest.mark.parametrize(
    ("data", "location", "message"),
    [
        ({"method": "FETCH"}, ("method",), "Input should be 'GET'"),
        ({"unknown": 1}, ("unknown",), "Extra inputs are not permitted"),
        ({"max_redirects": -1}, ("max_redirects",), "greater than or equal to 0"),
        ({"headers": {"Bad Name": "x"}}, ("headers",), "not a valid header name"),
        ({"headers": {"X-A": "a\r\nb"}}, ("headers",), "must not contain line breaks"),
        ({"keyword": ""}, ("keyword",), "at least 1 character"),
        ({"ip_version": 5}, ("ip_version",), "Input should be 4 or 6"),
        ({"ca_bundle_pem": "nope"}, ("ca_bundle_pem",), "at least one PEM certificate"),
        ({"basic_auth": {"username": "a:b", "password": "x"}}, ("basic_auth", "username"), "':'"),
        (
            {"json_assertion": {"path": "a..b", "value": 1}},
            ("json_assertion", "path"),
            "is not a path like",
        ),
        (
            {"json_assertion": {"path": "a", "operator": "gt", "value": "many"}},
            ("json_assertion",),
            "needs a number as value",
        ),
        (
            {"json_assertion": {"path": "a", "operator": "eq"}},
            ("json_assertion",),
            "operator 'eq' needs a value",
        ),
    ],
)
def test_an_invalid_http_config_names_the_field_and_the_problem(
    data: dict[str, Any], location: tuple[str, ...], message: str
) -> None:
    loc, msg = error_of(HttpConfig, **data)

    assert loc[: len(location)] == location
    assert message in msg


def test_basic_auth_and_an_authorization_header_cannot_both_be_given() -> None:
    _, message = error_of(
        HttpConfig,
        basic_auth={"username": "a", "password": "b"},
        headers={"authorization": "Bearer x"},
    )

    assert "either basic_auth or an Authorization header" in message


def test_a_ca_bundle_must_hold_a_loadable_certificate(ca: trustme.CA) -> None:
    assert HttpConfig(ca_bundle_pem=ca_pem(ca)).ca_bundle_pem == ca_pem(ca)
    broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    assert "is not a valid PEM certificate bundle" in error_of(TlsConfig, ca_bundle_pem=broken)[1]


def test_other_kinds_validate_their_fields() -> None:
    assert "greater than or equal to 1" in error_of(PingConfig, count=0)[1]
    assert "less than 100" in error_of(PingConfig, max_loss_percent=100)[1]
    assert "between 1 and 3650" in error_of(TlsConfig, warn_days=[0])[1]
    assert "is not an IP address" in error_of(DnsConfig, resolver="dns.google")[1]
    assert "Input should be 'A'" in error_of(DnsConfig, record_type="ANY")[1]
    assert "must not be blank" in error_of(DnsConfig, expected=[" "])[1]
    assert "at least 1 character" in error_of(TcpConfig, expect="")[1]
    assert "is not a valid host name" in error_of(TlsConfig, server_name="bad name")[1]


def test_warning_days_are_kept_sorted_from_the_largest() -> None:
    assert TlsConfig(warn_days=[3, 30, 7, 3]).warn_days == [30, 7, 3]


@pytest.mark.parametrize(
    ("data", "model"),
    [
        ({"kind": "http", "method": "HEAD"}, HttpConfig),
        ({"kind": "tcp", "send": "PING"}, TcpConfig),
        ({"kind": "ping", "count": 5}, PingConfig),
        ({"kind": "dns", "record_type": "MX"}, DnsConfig),
        ({"kind": "tls", "warn_days": [10]}, TlsConfig),
    ],
)
def test_a_config_is_parsed_by_its_kind(data: dict[str, Any], model: type[ProbeConfig]) -> None:
    config = parse_config(data)

    assert type(config) is model
    assert PROBES[data["kind"]].config_model is model


def test_a_config_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        parse_config({"kind": "smtp"})


def test_a_config_cannot_carry_fields_of_another_kind() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        parse_config({"kind": "tcp", "keyword": "up"})


def test_every_registered_probe_is_listed_under_its_own_kind() -> None:
    assert sorted(PROBES) == ["dns", "http", "ping", "tcp", "tls"]
    assert all(probe.kind == kind for kind, probe in PROBES.items())

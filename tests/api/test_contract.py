"""The OpenAPI document is a contract the API keeps: schemathesis, with all of its checks
(status codes, headers, schemas, methods and `Allow`, accepting what the document allows and
refusing what it does not), finds nothing, over real HTTP against the real app.

Bounded so `make test` stays quick: a few examples per operation, in schemathesis'
deterministic mode (the same cases every run), on SQLite (the other tests cover both
backends).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ApiHarness, SettingsFactory
from tests.support.accounts import Seeder
from tests.support.server import serving
from upwatch.api.app import create_app

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES_PER_OPERATION = 3
UNLIMITED = 1_000_000


@pytest.fixture
def contract_api(make_settings: SettingsFactory) -> Iterator[ApiHarness]:
    settings = make_settings(
        # Thousands of requests in a few minutes: the limiter would answer most of them 429
        # (documented, so not a finding) and hide the operations behind it.
        rate_limit_per_minute=UNLIMITED,
        public_rate_limit_per_minute=UNLIMITED,
        ping_rate_limit_per_minute=UNLIMITED,
        # Nothing leaves this machine: no deliveries, and destinations are not resolved
        # (a generated `https://0.com` would be a DNS query) when channels are created.
        run_dispatcher=False,
        allow_private_destinations=True,
    )
    with serving(create_app(settings)) as base_url:
        yield ApiHarness(base_url, settings, Seeder(settings.effective_database_url))


def test_schemathesis_finds_nothing_with_all_its_checks(
    contract_api: ApiHarness, tmp_path: Path
) -> None:
    tenant = contract_api.seed.tenant()
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{contract_api.base_url}/openapi.json",
        "--checks=all",
        f"--max-examples={EXAMPLES_PER_OPERATION}",
        "--generation-deterministic",
        "--workers=1",
        "--no-color",
        f"--header=Authorization: Bearer {tenant.owner.token}",
        # The live event stream never ends (it is an SSE stream): schemathesis would wait on
        # its first request forever. tests/api/test_events.py covers it.
        "--exclude-path=/api/v1/events",
    ]
    finished = subprocess.run(  # noqa: PLW1510 - the return code is the assertion
        command, cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    report = finished.stdout[-30_000:] + finished.stderr[-5_000:]
    assert finished.returncode == 0, report
    assert "Tested: " in report

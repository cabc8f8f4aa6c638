"""The benchmarks' plumbing, run small: they start, use the real code paths, and their JSON
figures add up. No timing is asserted here; figures belong in docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _run(script: str, *args: str) -> dict[str, object]:
    finished = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert finished.returncode == 0, finished.stderr
    figures: dict[str, object] = json.loads(finished.stdout.strip().splitlines()[-1])
    return figures


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_deadline_benchmark_declares_every_due_miss_once(backend: str) -> None:
    args = ["--heartbeats", "300", "--due", "30", "--spread", "1"]
    if backend == "postgresql":
        server = os.environ.get("UPWATCH_TEST_DATABASE_URL")
        if not server:
            pytest.skip("UPWATCH_TEST_DATABASE_URL is not set: PostgreSQL benchmark not run")
        args += ["--database-url", server]
    figures = _run("deadlines.py", *args)
    assert figures["backend"] == backend
    assert figures["heartbeats"] == 300
    assert figures["detected"] == figures["due"] == 30
    assert figures["stored_down"] == 30  # the other 270 are an hour away: still up
    for key in ("lateness_p50_ms", "lateness_p99_ms", "lateness_max_ms"):
        assert isinstance(figures[key], float)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_ping_benchmark_stores_every_ping_it_acknowledged(backend: str) -> None:
    args = ["--heartbeats", "3", "--duration", "2", "--connections", "4", "--no-wrk"]
    if backend == "postgresql":
        server = os.environ.get("UPWATCH_TEST_DATABASE_URL")
        if not server:
            pytest.skip("UPWATCH_TEST_DATABASE_URL is not set: PostgreSQL benchmark not run")
        args += ["--database-url", server]
    figures = _run("pings.py", *args)
    assert figures["backend"] == backend
    assert figures["load_generator"] == "aiohttp"
    assert figures["errors"] == 0
    assert isinstance(figures["acknowledged"], int)
    assert figures["acknowledged"] > 0
    assert figures["stored"] == figures["acknowledged"]  # the aiohttp generator waits for all
    assert isinstance(figures["pings_per_second"], float)

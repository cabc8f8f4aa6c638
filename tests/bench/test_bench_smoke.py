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


def _database_args(backend: str) -> list[str]:
    """The script's arguments for `backend`: SQLite is its default; PostgreSQL is the test
    server's (skipped, saying why, when none is configured)."""
    if backend == "sqlite":
        return []
    server = os.environ.get("UPWATCH_TEST_DATABASE_URL")
    if not server:
        pytest.skip("UPWATCH_TEST_DATABASE_URL is not set: PostgreSQL benchmark not run")
    return ["--database-url", server]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_deadline_benchmark_declares_every_due_miss_once(backend: str) -> None:
    args = ["--heartbeats", "300", "--due", "30", "--spread", "1"]
    args += _database_args(backend)
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
    args += _database_args(backend)
    figures = _run("pings.py", *args)
    assert figures["backend"] == backend
    assert figures["load_generator"] == "aiohttp"
    assert figures["processes"] == 1
    assert figures["errors"] == 0
    assert isinstance(figures["acknowledged"], int)
    assert figures["acknowledged"] > 0
    assert figures["stored"] == figures["acknowledged"]  # the aiohttp generator waits for all
    assert isinstance(figures["pings_per_second"], float)


@pytest.mark.parametrize(
    ("backend", "scheme"),
    [
        ("postgresql", "postgresql+asyncpg"),
        ("postgresql", "postgres"),
        ("sqlite", "sqlite+aiosqlite"),
    ],
)
def test_the_ping_benchmark_takes_every_database_url_form_the_product_takes(
    backend: str, scheme: str, tmp_path: Path
) -> None:
    """`UPWATCH_DATABASE_URL` may name its driver (`postgresql+asyncpg://`) or use the short
    `postgres://`; a benchmark given that URL runs on that backend and counts what it stored."""
    if backend == "sqlite":
        url = f"{scheme}:///{tmp_path / 'named.db'}"
    else:
        server = _database_args(backend)[1]
        url = f"{scheme}://{server.split('://', 1)[1]}"
    args = ["--heartbeats", "2", "--duration", "1", "--connections", "2", "--no-wrk"]
    figures = _run("pings.py", *args, "--database-url", url)
    assert figures["backend"] == backend
    assert figures["errors"] == 0
    assert figures["stored"] == figures["acknowledged"]


@pytest.mark.parametrize(
    ("backend", "workers"),
    [("sqlite", 0), ("postgresql", 0), ("postgresql", 2)],
    ids=["sqlite", "postgresql", "postgresql-2-workers"],
)
def test_the_checks_benchmark_counts_the_checks_it_scheduled_and_stored(
    backend: str, workers: int
) -> None:
    args = ["--monitors", "20", "--interval", "1", "--duration", "3", "--warmup", "1"]
    args += _database_args(backend)
    if workers:
        args += ["--workers", str(workers)]
    figures = _run("checks.py", *args)
    assert figures["backend"] == backend
    assert figures["workers"] == workers
    assert figures["monitors"] == 20
    assert figures["interval_seconds"] == 1
    assert figures["duration_seconds"] == 3
    assert isinstance(figures["expected_checks"], int)
    assert figures["expected_checks"] > 0
    assert isinstance(figures["completed_checks"], int)
    assert figures["completed_checks"] > 0
    assert figures["completed_checks"] <= figures["rows_stored"]
    assert figures["failed_checks"] < figures["completed_checks"]  # the local target answers
    assert figures["duplicate_checks"] == 0
    assert figures["stopped_gracefully"] is True
    assert isinstance(figures["unstored_checks"], int)
    for key in ("lateness_p50_ms", "lateness_p99_ms", "lateness_max_ms", "completed_percent"):
        assert isinstance(figures[key], float)
    for key in ("cpu_percent", "peak_rss_mb"):
        assert isinstance(figures[key], float)
        assert figures[key] > 0


API_ENDPOINTS = {
    "list_walk", "list_first_page", "list_deep_page", "list_by_name", "list_down_by_name",
    "detail", "stats_24h", "stats_30d", "timeline_24h", "timeline_30d", "stats_24h_sample",
    "stats_30d_sample", "checks",
}  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_api_benchmark_times_every_read_of_a_seeded_history(backend: str) -> None:
    args = ["--monitors", "50", "--days", "2", "--requests", "10", "--sample-monitors", "5"]
    args += ["--history-monitors", "20", *_database_args(backend)]
    figures = _run("api.py", *args)
    assert figures["backend"] == backend
    assert figures["monitors"] == figures["monitors_rows"] == 50
    assert figures["list_walk_monitors"] == 50  # following the cursors lists every monitor once
    assert figures["errors"] == 0
    assert isinstance(figures["database_bytes"], int)
    assert figures["database_bytes"] > 0
    assert figures["sample_monitors"] == 5
    assert figures["history_monitors"] == 20
    # The lighter mode: day rows for all 50 monitors, hour rows for the 20 detailed ones only.
    assert figures["rollups_day_rows"] % 50 == 0
    assert figures["rollups_hour_rows"] % 20 == 0
    assert figures["rollups_hour_rows"] // 20 >= 48  # every hour of the 2 days
    assert figures["check_results_rows"] == 5 * 24 * 60  # a day of raw results each
    for kind in ("rollups_day_rows", "rollups_hour_rows", "rollups_minute_rows"):
        assert isinstance(figures[kind], int)
        assert figures[kind] > 0
    assert isinstance(figures["stats_24h_checks"], int)
    assert 0 < figures["stats_24h_checks"] <= figures["stats_30d_checks"]
    endpoints = figures["endpoints"]
    assert isinstance(endpoints, dict)
    assert set(endpoints) == API_ENDPOINTS
    for name, figure in endpoints.items():
        assert figure["requests"] == (figures["list_walk_pages"] if name == "list_walk" else 10)
        assert figure["errors"] == 0
        for key in ("p50_ms", "p99_ms"):
            assert isinstance(figure[key], float)
            assert figures[f"{name}_{key}"] == figure[key]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_idle_benchmark_reads_the_footprint_of_a_server_with_nothing_to_do(
    backend: str,
) -> None:
    args = ["--duration", "1", "--settle", "0", *_database_args(backend)]
    figures = _run("idle.py", *args)
    assert figures["backend"] == backend
    assert figures["stopped_gracefully"] is True
    assert figures["server_log_problems"] == 0
    assert isinstance(figures["cpu_percent"], float)
    assert isinstance(figures["rss_mb"], float)
    assert 0 < figures["rss_mb"] <= figures["peak_rss_mb"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_storage_benchmark_measures_what_its_checks_wrote(backend: str) -> None:
    args = ["--monitors", "3", "--hours", "1", *_database_args(backend)]
    figures = _run("storage.py", *args)
    assert figures["backend"] == backend
    assert figures["checks"] == figures["results_rows"] == 3 * 60  # one result per check
    # Each check lands in a minute rollup of its own (60 s interval), plus the monitor's
    # hour and day rollups: two of each, when the hour began before the run.
    assert 3 * 60 < figures["rollups_rows"] <= 3 * (60 + 2 + 2)
    for key in ("bytes_per_result", "bytes_per_rollup", "bytes_per_check"):
        assert isinstance(figures[key], float)
        assert figures[key] > 0
    assert figures["projected_results_rows"] == 10_000 * 1440 * 30
    assert isinstance(figures["projected_bytes"], int)
    assert figures["projected_bytes"] > 0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_streams_benchmark_sees_every_stream_it_closed_let_go(backend: str) -> None:
    args = ["--streams", "5", "--rounds", "2", "--settle", "0", *_database_args(backend)]
    figures = _run("streams.py", *args)
    assert figures["backend"] == backend
    assert figures["open_errors"] == 0
    assert figures["streams_open_after"] == [0, 0]
    assert figures["subscribers_after"] == [0, 0]
    assert len(figures["rss_open_mb"]) == len(figures["rss_closed_mb"]) == 2  # type: ignore[arg-type]
    assert figures["stopped_gracefully"] is True
    assert figures["server_log_problems"] == 0


def test_the_streams_benchmark_looks_inside_a_server_in_its_own_process() -> None:
    figures = _run("streams.py", "--in-process", "--streams", "5", "--rounds", "1", "--settle", "0")
    assert figures["open_errors"] == 0
    assert figures["subscribers_after"] == [0]
    assert isinstance(figures["blocks_delta"], int)
    assert isinstance(figures["rss_trimmed_mb"], float)

"""API read latency at scale: with N monitors and D days of history, how long do the
monitor list, a monitor's detail, its statistics, its timeline and its raw checks take?

Seeds a fresh database with a bulk loader (below), starts `upwatch serve` as its own process
(checks off: an API-only process, so that the reads are measured, not their contention with N
checks a minute; the product's default log level, `info`; the per-token rate limit lifted),
waits for its start-up housekeeping (the retention purge) to finish, then sends every request
from one client, one at a time, over HTTP on 127.0.0.1 with an API token: latency, not
throughput.

- `list_walk`: the whole monitor list, page after page by following `next_cursor` (limit
  N/20, at most 100): every page once, checking that every monitor is listed;
- then, after WARMUP requests each, `--requests` rounds, each one request of every endpoint in
  a new shuffled order: `list_first_page` (`GET /api/v1/monitors`), `list_deep_page` (a cursor
  from the walk's second half), `list_by_name` (`?sort=name`), `list_down_by_name`
  (`?status=down&sort=name`); of a random monitor `detail`, `stats_24h`, `stats_30d`,
  `timeline_24h`, `timeline_30d` (60 buckets: 24-minute buckets of minute rollups, 12-hour
  buckets of hour rollups); of a random sample monitor (below) `stats_24h_sample`,
  `stats_30d_sample` and `checks` (the first page of raw results).

The bulk loader writes the rows the product writes, made by the product's code, in the order
the product writes them, but not all of them: 30 days of raw results at 60 s for 100,000
monitors would be 4.3 billion rows, and so would the minute rollups kept as long.

- N http monitors every 60 s (target `http://127.0.0.1:9/`, never contacted), with their
  `monitor.create` audit rows, as `POST /api/v1/monitors` writes them (bench/checks.py's
  `monitor_values` and `audit_values`), created when the history starts;
- synthetic checks: latency log-normal around 80 ms, 0.5 % failures (timeouts, 503s); every
  100th monitor (1 %) failed its last 5 checks and is down;
- every monitor's live state (`monitor_states`): the product's `engine.ingest.evaluate` over its
  last 5 checks (a sample monitor's whole raw day), from lifetime latency figures summed from
  its day rollups;
- rollups (`check_rollups`; values from the product's `Rollup.add` and `Rollup.values()`):
  for every monitor, day and hour rows for the D days and minute rows for the last 26 hours
  (what 24-hour windows read: the minutes at both edges of stats, the 24-minute buckets of the
  timeline) and for the first 2 hours of the 30-day window (what a 30-day stats window starts
  with; written last, from the time then, and only when D >= 30), so 1,680 minute rows of the
  43,200 the product keeps (30 days, its default retention). Minute rows hold one check each;
  hour and day rows come from pools of 64 hours and 16 days of synthetic checks, so they are
  not sums of the minute rows, and the first day's row is a whole day's;
- the lighter mode (`--history-monitors K`, for 100,000 monitors: the full history would be
  243 million rollup rows, hours to load and about 60 GB, and the minute rows the product
  keeps for 30 days 4.3 billion, some 600 GB, more than this machine's disk): every monitor
  still has its
  row, audit row, live state and day rollups, but only K monitors, spread over the list, have
  hour and minute rollups; stats and timelines are read of those K. So the list pages,
  detail and stats run against 100,000 monitors; what the lighter mode leaves out is the
  size of the rollup table (an index one level deeper, a smaller share of it in memory);
- sample monitors (`--sample-monitors`, default 100, spread over the detailed ones), as the
  product keeps them: minute rows for min(D, 30) days (what a query scanning all of a monitor's rows
  pays: see `stats_*_sample`) and raw results (`check_results`), one a minute for the last
  24 hours, from the same checks as their minute rows, `scheduled_at` on the monitor's phase
  (`upwatch.engine.checks.schedule`);
- rows are written in time order (each day, hour, minute: all its monitors' rows), as the
  product writes them, so that a monitor's rows are scattered over the table as in production;
  CHUNK rows a transaction: executemany on SQLite of the values SQLAlchemy's bind processors
  make for each column, COPY on PostgreSQL; a read-back by key checks the format. The history
  ends when seeding starts (the current hour and day rows hold whole templates; minutes since
  are missing);
- not seeded: state changes, incidents, alerts, tags, groups (no measured read needs them);
- then, on PostgreSQL, VACUUM (ANALYZE), as autovacuum would have long done (else the planner
  has no statistics yet, and autovacuum starts during the measurement); on SQLite nothing:
  the server's start-up housekeeping samples the tables (ANALYZE), as it does in production,
  and the measurement waits for it.

    python bench/api.py --monitors 10000 --days 30
    python bench/api.py --monitors 10000 --days 30 \\
        --database-url postgresql://root@127.0.0.1:5432/test
    python bench/api.py --monitors 100000 --history-monitors 2000 --days 30
    python bench/api.py --monitors 50 --days 2 --requests 20 --sample-monitors 5

Prints a summary, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/scratch.py, bench/checks.py

from checks import (
    audit_values,
    base_server_env,
    free_port,
    memory_mb,
    monitor_values,
    percentile,
    running_server,
    stop_on_sigterm,
    stop_server,
    wait_ready,
)
from scratch import backend, fresh_database
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import URL, make_url

from upwatch.accounts.bootstrap import first_run
from upwatch.core.ids import uuid7
from upwatch.db.engine import Database
from upwatch.db.migrate import upgrade
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine.checks import schedule
from upwatch.engine.checks.snapshot import MonitorSnapshot
from upwatch.engine.ingest.evaluate import MonitorLive, evaluate
from upwatch.engine.ingest.observation import HttpFacts, Observation
from upwatch.engine.ingest.rollups import DAY, HOUR, MINUTE, Rollup, bucket_start
from upwatch.logs import configure_logging
from upwatch.models import AuditLog, CheckResult, CheckRollup, Monitor, MonitorState, Organization
from upwatch.monitors.policy import Counters, MonitorStatus, Thresholds
from upwatch.probes.base import Phases
from upwatch.probes.registry import parse_config
from upwatch.settings import Settings
from upwatch.subjects import SubjectKind, SubjectRef

INTERVAL = 60
TARGET_URL = "http://127.0.0.1:9/"  # the discard port; checks are off, so never contacted
RECENT_MINUTE_HOURS = 26  # 24-hour windows, the 24 minutes a timeline bucket reaches back, slack
EDGE_MINUTE_HOURS = 2  # the 30-day window's first minutes, for a measurement up to an hour later
LONG_WINDOW = timedelta(days=30)
# Minute rollups are kept as long as raw results: the product's default.
MINUTE_RETENTION = timedelta(days=Settings.model_fields["result_retention_days"].default)
RAW_HOURS = 24
DOWN_EVERY = 100  # positions 99, 199, ...: 1 % of the monitors are down
FAILING_MINUTES = 5  # a down monitor's last checks failed (failure_threshold is 2)
TAIL_MINUTES = 5  # checks each monitor's live state is evaluated over
POOL_SIZE = 1000  # synthetic checks; the first is the timeout a down monitor keeps getting
FAILURES = 5  # of the pool (0.5 %)
HOUR_POOL, DAY_POOL = 64, 16  # synthetic hours and days of checks
LATENCY_MEDIAN_MS, LATENCY_SIGMA = 80.0, 0.5
MONITOR_CHUNK = 5000
CHUNK = 20_000  # rows a transaction
WARMUP = 5  # requests an endpoint before measuring
HOUSEKEEPING_SECONDS = 3600  # the start-up purge scans check_rollups: long at 100,000 monitors
ROLLUP_COLUMNS = (
    "monitor_id", "resolution", "bucket_start", "checks", "failures", "maintenance_checks",
    "maintenance_failures", "latency_count", "latency_sum_ms", "latency_min_ms",
    "latency_max_ms", "histogram",
)  # fmt: skip


# Synthetic checks and the rollups they make, with the product's Rollup. Pooled observations
# are shared by every monitor: each use sets its subject and time.
POOLED = SubjectRef(SubjectKind.MONITOR, 0)
POOLED_AT = datetime(2000, 1, 1, tzinfo=UTC)


def observation_pool(rng: random.Random) -> list[Observation]:
    """POOL_SIZE checks of an http target: a timeout first (a down monitor's last checks),
    then the rest shuffled."""
    timeout = Observation(
        subject=POOLED, at=POOLED_AT, ok=False, latency_ms=None, error_code="TIMEOUT",
        reason="no complete response within 5 s",
    )  # fmt: skip
    rest = [_failure(rng) for _ in range(FAILURES - 1)]
    rest += [_success(rng) for _ in range(POOL_SIZE - FAILURES)]
    rng.shuffle(rest)
    return [timeout, *rest]


def _latency(rng: random.Random) -> float:
    return round(rng.lognormvariate(math.log(LATENCY_MEDIAN_MS), LATENCY_SIGMA), 3)


def _success(rng: random.Random) -> Observation:
    total = _latency(rng)
    phases = Phases(
        dns_ms=round(total * 0.05, 3), connect_ms=round(total * 0.1, 3),
        ttfb_ms=round(total * 0.75, 3), transfer_ms=round(total * 0.1, 3), total_ms=total,
    )  # fmt: skip
    return Observation(
        subject=POOLED, at=POOLED_AT, ok=True, latency_ms=total, error_code=None,
        reason="HTTP 200 OK", phases=phases, http=HttpFacts(status_code=200),
    )  # fmt: skip


def _failure(rng: random.Random) -> Observation:
    return Observation(
        subject=POOLED, at=POOLED_AT, ok=False, latency_ms=_latency(rng),
        error_code="UNEXPECTED_STATUS", reason="503, expected 2xx",
        http=HttpFacts(status_code=503, failed_requests=1),
    )  # fmt: skip


def rollup_of(observations: list[Observation]) -> Rollup:
    rollup = Rollup()
    for observation in observations:
        rollup.add(observation.ok, observation.latency_ms, False)
    return rollup


@dataclass(frozen=True, slots=True)
class History:
    """[start, end): the seeded period, and which check each monitor made when."""

    start: datetime
    end: datetime
    pool: list[Observation]
    minutes: list[Rollup]  # the rollup of pool[i], one check
    hours: list[Rollup]
    days: list[Rollup]
    down: set[int]  # monitor ids, added as the monitors are made
    sample: set[int]  # monitor ids with every minute row the product keeps, and raw results
    detailed: set[int]  # monitor ids with hour and recent minute rows (all, unless lighter)

    @classmethod
    def of(cls, end: datetime, days: int, rng: random.Random) -> History:
        pool = observation_pool(rng)
        return cls(
            start=bucket_start(end - timedelta(days=days), HOUR),
            end=end,
            pool=pool,
            minutes=[rollup_of([observation]) for observation in pool],
            hours=[rollup_of(rng.choices(pool, k=HOUR // INTERVAL)) for _ in range(HOUR_POOL)],
            days=[rollup_of(rng.choices(pool, k=DAY // INTERVAL)) for _ in range(DAY_POOL)],
            down=set(),
            sample=set(),
            detailed=set(),
        )

    def check(self, monitor_id: int, minute: datetime) -> int:
        """The pool index of the monitor's check in that minute (a cheap, fixed mix)."""
        if monitor_id in self.down and minute >= self.end - timedelta(minutes=FAILING_MINUTES):
            return 0
        number = int(minute.timestamp()) // MINUTE
        return (monitor_id * 2_654_435_761 + number * 40_503) % POOL_SIZE

    def template(self, monitor_id: int, resolution: int, moment: datetime) -> Rollup:
        if resolution == MINUTE:
            return self.minutes[self.check(monitor_id, moment)]
        pool = self.hours if resolution == HOUR else self.days
        return pool[(monitor_id * 31 + int(moment.timestamp()) // resolution) % len(pool)]

    @property
    def recent(self) -> datetime:
        """Every monitor has minute rows from here."""
        return max(self.start, self.end - timedelta(hours=RECENT_MINUTE_HOURS))

    @property
    def retained(self) -> datetime:
        """Sample monitors have minute rows from here, as the product keeps them."""
        return max(self.start, self.end - MINUTE_RETENTION)

    def steps(self) -> list[tuple[datetime, int]]:
        """(bucket start, resolution) in the order the product first writes them: by time,
        and at one moment the day, then the hour, then the minute."""
        found = [(moment, DAY) for moment in _range(bucket_start(self.start, DAY), self.end, DAY)]
        found += [(moment, HOUR) for moment in _range(self.start, self.end, HOUR)]
        found += [(moment, MINUTE) for moment in _range(self.retained, self.end, MINUTE)]
        return sorted(found, key=lambda step: (step[0], -step[1]))

    def owners(
        self,
        resolution: int,
        moment: datetime,
        ids: list[int],
        detailed: list[int],
        sample: list[int],
    ) -> list[int]:
        """The monitors with a row of that bucket: all of them for days; the detailed ones
        for hours and recent minutes; the sample alone for older minutes."""
        if resolution == DAY:
            return ids
        return detailed if resolution == HOUR or moment >= self.recent else sample


def _range(first: datetime, end: datetime, seconds: int) -> Iterator[datetime]:
    moment = first
    while moment < end:
        yield moment
        moment += timedelta(seconds=seconds)


# Writing rows in bulk.


class RollupWriter:
    """Rollup rows as the product stores them: each value through the bind processor
    SQLAlchemy uses for the column on this backend (SQLite stores datetimes as text in its own
    format, and compares them as text), made once per template or bucket instead of once per
    row; then executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._postgres = database.backend == "postgresql"
        dialect = database.engine.dialect
        columns = CheckRollup.__table__.c
        self._processors = {  # the dialect's own type: UtcDateTime over SQLite's DATETIME
            name: columns[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in ROLLUP_COLUMNS
        }
        self._values: dict[int, tuple[Any, ...]] = {}  # by id() of a template Rollup
        self._moments: dict[datetime, Any] = {}
        self._pending: list[tuple[Any, ...]] = []
        self.written = dict.fromkeys((MINUTE, HOUR, DAY), 0)

    def _wire(self, name: str, value: Any) -> Any:
        processor = self._processors[name]
        return value if processor is None or value is None else processor(value)

    def _tail(self, rollup: Rollup) -> tuple[Any, ...]:
        known = self._values.get(id(rollup))
        if known is None:
            values = rollup.values()
            known = tuple(self._wire(name, values[name]) for name in ROLLUP_COLUMNS[3:])
            self._values[id(rollup)] = known
        return known

    def _moment(self, moment: datetime) -> Any:
        if moment not in self._moments:
            self._moments[moment] = self._wire("bucket_start", moment)
        return self._moments[moment]

    async def add(self, monitor_id: int, resolution: int, moment: datetime, rollup: Rollup) -> None:
        self._pending.append((monitor_id, resolution, self._moment(moment), *self._tail(rollup)))
        self.written[resolution] += 1
        if len(self._pending) >= CHUNK:
            await self.flush()

    async def flush(self) -> None:
        rows, self._pending = self._pending, []
        if not rows:
            return
        async with unit_of_work(self._database) as session:
            connection = await session.connection()
            if self._postgres:
                raw = (await connection.get_raw_connection()).driver_connection
                assert raw is not None
                await raw.copy_records_to_table(
                    "check_rollups", records=rows, columns=ROLLUP_COLUMNS
                )
            else:
                marks = ", ".join("?" * len(ROLLUP_COLUMNS))
                statement = (
                    f"INSERT INTO check_rollups ({', '.join(ROLLUP_COLUMNS)}) VALUES ({marks})"  # noqa: S608 - constant names
                )
                await connection.exec_driver_sql(statement, rows)


class Progress:
    """A line on stderr every tenth of a long step, so a 100,000-monitor seed shows life."""

    def __init__(self, what: str, total: int) -> None:
        self._what, self._total, self._shown = what, total, 0
        self._began = time.monotonic()

    def update(self, done: int) -> None:
        tenth = done * 10 // max(self._total, 1)
        if tenth > self._shown:
            self._shown = tenth
            elapsed = time.monotonic() - self._began
            print(f"{self._what}: {tenth * 10} % in {elapsed:.0f} s", file=sys.stderr, flush=True)


# Seeding.


@dataclass(frozen=True, slots=True)
class Fleet:
    """The seeded monitors and what the measurement needs of them."""

    token: str
    ids: list[int]
    public_ids: list[UUID]
    detailed_public_ids: list[UUID]  # the monitors whose stats and timeline are read
    sample_public_ids: list[UUID]
    rows: dict[str, int]


@dataclass(slots=True)
class Seeding:
    database: Database
    history: History
    organization_id: int
    values: dict[str, Any]  # the monitor row POST /api/v1/monitors makes, without ids
    snapshot: MonitorSnapshot  # what the engine would know of such a monitor
    detailed_positions: set[int]
    sample_positions: set[int]  # a subset of detailed_positions
    results: list[dict[str, Any]] = dataclasses.field(default_factory=list)


async def seed(database_url: str, args: argparse.Namespace) -> Fleet:
    """The owner and its token, the monitors and their history (see the module's doc)."""
    database = Database(database_url)
    try:
        end = bucket_start(datetime.now(UTC), MINUTE)
        history = History.of(end, args.days, random.Random(1))  # noqa: S311 - synthetic data
        token, organization_id = await owner(database, history.start)
        detailed = sorted(_spread(args.history_monitors, args.monitors))
        sample = {detailed[p] for p in _spread(args.sample_monitors, len(detailed))}
        seeding = Seeding(
            database, history, organization_id, _monitor_values(organization_id, history.start),
            _snapshot(organization_id), set(detailed), sample,
        )  # fmt: skip
        ids, public_ids = await seed_monitors(seeding, args.monitors)
        rollups = await seed_rollups(database, history, ids)
        await seed_edge_minutes(rollups, history, ids)
        await seed_results(database, seeding.results)
    finally:
        await database.dispose()
    return Fleet(
        token=token,
        ids=ids,
        public_ids=public_ids,
        detailed_public_ids=[public_ids[p] for p in sorted(seeding.detailed_positions)],
        sample_public_ids=[public_ids[p] for p in sorted(seeding.sample_positions)],
        rows={
            "monitors": len(ids),
            "rollups_day": rollups.written[DAY],
            "rollups_hour": rollups.written[HOUR],
            "rollups_minute": rollups.written[MINUTE],
            "check_results": len(seeding.results),
        },
    )


async def owner(database: Database, now: datetime) -> tuple[str, int]:
    """The first run's organization, owner and admin token, made here (so the server skips
    its first run, and the token is known without reading its log)."""
    async with unit_of_work(database) as session:
        made = await first_run(session, email="bench@example.com", password=None, now=now)
        organization_id = (await session.execute(select(Organization.id))).scalar_one()
    assert made is not None
    return made.token, organization_id


def _monitor_values(organization_id: int, created_at: datetime) -> dict[str, Any]:
    return {
        **monitor_values(TARGET_URL, INTERVAL),
        "organization_id": organization_id,
        "created_at": created_at,
        "updated_at": created_at,
    }


def _snapshot(organization_id: int) -> MonitorSnapshot:
    """The engine's view of the monitor `_monitor_values` describes (id and name to fill)."""
    values = monitor_values(TARGET_URL, INTERVAL)
    return MonitorSnapshot(
        id=0, public_id=UUID(int=0), organization_id=organization_id, name="", kind="http",
        target=TARGET_URL, host="127.0.0.1", config=parse_config(values["config"]),
        interval_seconds=INTERVAL, timeout_seconds=values["timeout_ms"] / 1000,
        concurrency=values["concurrency"],
        thresholds=Thresholds(
            failure_threshold=values["failure_threshold"],
            recovery_threshold=values["recovery_threshold"],
            degraded_above_ms=values["degraded_above_ms"],
        ),
        spike_threshold_percent=values["spike_threshold_percent"],
        spike_min_diff_ms=values["spike_min_diff_ms"],
        spike_consecutive=values["spike_consecutive"],
        maintenance=False, active=True, scheduled=True,
    )  # fmt: skip


def _spread(count: int, total: int) -> set[int]:
    """`count` positions spread evenly over `total`."""
    return {position * total // count for position in range(count)}


async def seed_monitors(seeding: Seeding, count: int) -> tuple[list[int], list[UUID]]:
    """The monitors with their audit rows and live states, MONITOR_CHUNK a transaction."""
    ids: list[int] = []
    public_ids = [uuid7() for _ in range(count)]  # as service.create makes them
    progress = Progress("seeding monitors", count)
    for offset in range(0, count, MONITOR_CHUNK):
        chunk = public_ids[offset : offset + MONITOR_CHUNK]
        ids += await _seed_monitor_chunk(seeding, chunk, offset)
        progress.update(offset + len(chunk))
    return ids, public_ids


async def _seed_monitor_chunk(seeding: Seeding, public_ids: list[UUID], offset: int) -> list[int]:
    monitors = [
        {**seeding.values, "public_id": public_id, "name": f"bench {offset + index}"}
        for index, public_id in enumerate(public_ids)
    ]
    async with unit_of_work(seeding.database) as session:
        inserted = await session.execute(
            insert(Monitor).returning(Monitor.id, sort_by_parameter_order=True), monitors
        )
        ids = list(inserted.scalars())
        for position, monitor_id in enumerate(ids, offset):
            if position % DOWN_EVERY == DOWN_EVERY - 1:
                seeding.history.down.add(monitor_id)
            if position in seeding.detailed_positions:
                seeding.history.detailed.add(monitor_id)
            if position in seeding.sample_positions:
                seeding.history.sample.add(monitor_id)
        states = [
            live_state(seeding, monitor_id, public_id, offset + index)
            for index, (monitor_id, public_id) in enumerate(zip(ids, public_ids, strict=True))
        ]
        await session.execute(insert(MonitorState), states)
        await session.execute(insert(AuditLog), [audit_values(row) for row in monitors])
    return ids


def live_state(seeding: Seeding, monitor_id: int, public_id: UUID, position: int) -> dict[str, Any]:
    """The monitor's `monitor_states` row: the product's evaluate() over its last checks,
    keeping the result rows of a sample monitor."""
    history = seeding.history
    sample = position in seeding.sample_positions
    minutes = RAW_HOURS * 60 if sample else TAIL_MINUTES
    first = max(history.start, history.end - timedelta(minutes=minutes))
    snapshot = dataclasses.replace(seeding.snapshot, id=monitor_id, public_id=public_id)
    live = _lifetime(history, monitor_id, first)
    phase = timedelta(seconds=schedule.phase_seconds(public_id, INTERVAL))
    values: dict[str, Any] = {}
    for minute in _range(first, history.end, MINUTE):
        scheduled = minute + phase
        seen = dataclasses.replace(
            history.pool[history.check(monitor_id, minute)],
            subject=SubjectRef(SubjectKind.MONITOR, monitor_id),
            at=scheduled + timedelta(milliseconds=3),
        )
        record = evaluate(
            snapshot, live, seen, scheduled_at=scheduled,
            next_run_at=scheduled + timedelta(seconds=INTERVAL),
        )  # fmt: skip
        values = record.state_values
        if sample:
            seeding.results.append(record.result_row)
    return values


def _lifetime(history: History, monitor_id: int, until: datetime) -> MonitorLive:
    """Up since the history began, with the latency figures of its day rollups."""
    days = [
        history.template(monitor_id, DAY, moment)
        for moment in _range(bucket_start(history.start, DAY), until, DAY)
    ]
    mins = [day.latency_min_ms for day in days if day.latency_min_ms is not None]
    maxes = [day.latency_max_ms for day in days if day.latency_max_ms is not None]
    return MonitorLive(
        counters=Counters(
            status=MonitorStatus.UP,
            consecutive_successes=int((until - history.start).total_seconds()) // INTERVAL,
        ),
        status=MonitorStatus.UP,
        status_changed_at=history.start,
        latency_count=sum(day.latency_count for day in days),
        latency_sum_ms=sum(day.latency_sum_ms for day in days),
        latency_min_ms=min(mins, default=None),
        latency_max_ms=max(maxes, default=None),
    )


async def seed_rollups(database: Database, history: History, ids: list[int]) -> RollupWriter:
    """Every monitor's day rows, the detailed monitors' hour and recent minute rows, and the
    sample's older minute rows, in time order."""
    writer = RollupWriter(database)
    steps = history.steps()
    sample = [monitor_id for monitor_id in ids if monitor_id in history.sample]
    detailed = [monitor_id for monitor_id in ids if monitor_id in history.detailed]
    owners = [
        history.owners(resolution, moment, ids, detailed, sample) for moment, resolution in steps
    ]
    progress = Progress("seeding rollups", sum(len(found) for found in owners))
    for (moment, resolution), found in zip(steps, owners, strict=True):
        for monitor_id in found:
            await writer.add(
                monitor_id, resolution, moment, history.template(monitor_id, resolution, moment)
            )
        progress.update(sum(writer.written.values()))
    await writer.flush()
    last = [(found[-1], res, at) for (at, res), found in zip(steps, owners, strict=True) if found]
    await check_keys(database, last)
    return writer


async def check_keys(database: Database, keys: list[tuple[int, int, datetime]]) -> None:
    """The loader's rows are found by the product's queries (key equality, bound by
    SQLAlchemy): a value stored in another format would be missed, or doubled by upserts."""
    last = {resolution: (monitor_id, moment) for monitor_id, resolution, moment in keys}
    async with database.session() as session:
        for resolution, (monitor_id, moment) in last.items():
            found = await session.execute(
                select(func.count())
                .select_from(CheckRollup)
                .where(
                    CheckRollup.monitor_id == monitor_id,
                    CheckRollup.resolution == resolution,
                    CheckRollup.bucket_start == moment,
                )
            )
            if found.scalar_one() != 1:
                raise SystemExit(
                    f"the bulk-loaded rollup {monitor_id, resolution, moment} is not found"
                )


async def seed_edge_minutes(writer: RollupWriter, history: History, ids: list[int]) -> None:
    """The minute rows a 30-day window starts with, placed from the time now (seeding may
    have taken long) and only where the history reaches; not those sample monitors have."""
    first = bucket_start(datetime.now(UTC) - LONG_WINDOW, HOUR)
    if first < history.start:
        return
    detailed = [monitor_id for monitor_id in ids if monitor_id in history.detailed]
    for moment in _range(first, first + timedelta(hours=EDGE_MINUTE_HOURS), MINUTE):
        for monitor_id in detailed:
            if moment < history.retained or monitor_id not in history.sample:
                template = history.template(monitor_id, MINUTE, moment)
                await writer.add(monitor_id, MINUTE, moment, template)
    await writer.flush()


async def seed_results(database: Database, results: list[dict[str, Any]]) -> None:
    """Raw results in the order they were checked (all monitors' first minute, then the
    next...), as the writer stores them."""
    results.sort(key=lambda row: row["checked_at"])
    for offset in range(0, len(results), CHUNK):
        async with unit_of_work(database) as session:
            await session.execute(insert(CheckResult), results[offset : offset + CHUNK])


def settle(database_url: str) -> float | None:
    """On PostgreSQL, VACUUM (ANALYZE) what was loaded, as autovacuum has long done by the
    time a production database holds that history: else the planner has no statistics yet,
    and autovacuum would start on these tables during the measurement. Its seconds; None on
    SQLite, where Upwatch never runs ANALYZE, so that its planner has no statistics there."""
    if backend(database_url) == "sqlite":
        return None
    began = time.monotonic()
    asyncio.run(_vacuum(make_url(database_url).set(drivername="postgresql")))
    return round(time.monotonic() - began, 2)


async def _vacuum(url: URL) -> None:
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await connection.execute("VACUUM (ANALYZE)", timeout=None)
    finally:
        await connection.close()


def database_bytes(database_url: str) -> int:
    if backend(database_url) == "sqlite":
        path = Path(make_url(database_url).database or "")
        return sum(
            candidate.stat().st_size
            for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
            if candidate.exists()
        )
    return asyncio.run(_postgres_bytes(database_url))


async def _postgres_bytes(database_url: str) -> int:
    database = Database(database_url)
    try:
        async with database.session() as session:
            size = await session.execute(text("SELECT pg_database_size(current_database())"))
            return int(size.scalar_one())
    finally:
        await database.dispose()


# The server under test.


def server_env(database_url: str, data_dir: str, port: int) -> dict[str, str]:
    return {
        **base_server_env(database_url, data_dir, port),
        "UPWATCH_RUN_CHECKS": "false",  # an API-only process: reads, not checks, are measured
        "UPWATCH_RATE_LIMIT_PER_MINUTE": "1000000000",  # one token sends every request
    }


def wait_housekeeping(server: Any, log: Path) -> None:
    """Wait for the start-up retention purge (housekeeping.py runs it at once): it competes
    with the reads for the database and the CPU."""
    give_up = time.monotonic() + HOUSEKEEPING_SECONDS
    while time.monotonic() < give_up:
        if server.poll() is not None:
            raise SystemExit(f"upwatch serve exited early:\n{log.read_text()[-2000:]}")
        written = log.read_text(errors="replace")
        if "housekeeping.purged" in written or "housekeeping.failed" in written:
            return
        time.sleep(0.2)
    raise SystemExit("the start-up housekeeping did not finish")


# Measuring.


@dataclass(frozen=True, slots=True)
class Walk:
    deep_cursors: list[str]
    pages: int
    listed: int
    latencies_ms: list[float]


def timed_get(client: httpx.Client, path: str) -> tuple[float, httpx.Response]:
    began = time.perf_counter()
    response = client.get(path)  # the whole body is read: httpx does not stream here
    return (time.perf_counter() - began) * 1000, response


def walk_list(client: httpx.Client, total: int) -> Walk:
    """Every page of the list, following cursors; keeps the cursors of its second half."""
    limit = max(1, min(100, total // 20))
    cursors: list[str] = []
    latencies: list[float] = []
    listed, cursor = 0, None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        elapsed, response = timed_get(client, f"/api/v1/monitors{query}")
        response.raise_for_status()
        latencies.append(elapsed)
        page = response.json()
        listed += len(page["data"])
        cursor = page["pagination"]["next_cursor"]
        if cursor is None:
            break
        if listed >= total // 2:
            cursors.append(cursor)
    return Walk(cursors, len(latencies), listed, latencies)


Endpoint = Callable[[random.Random], str]


def endpoints(fleet: Fleet, walk: Walk) -> dict[str, Endpoint]:
    monitors = "/api/v1/monitors"

    def monitor(rng: random.Random) -> str:
        return f"{monitors}/{rng.choice(fleet.public_ids)}"

    def detailed(rng: random.Random) -> str:
        return f"{monitors}/{rng.choice(fleet.detailed_public_ids)}"

    def sample(rng: random.Random) -> str:
        return f"{monitors}/{rng.choice(fleet.sample_public_ids)}"

    return {
        "list_first_page": lambda _: monitors,
        "list_deep_page": lambda rng: f"{monitors}?cursor={rng.choice(walk.deep_cursors)}",
        "list_by_name": lambda _: f"{monitors}?sort=name",
        "list_down_by_name": lambda _: f"{monitors}?status=down&sort=name",
        "detail": monitor,
        "stats_24h": lambda rng: f"{detailed(rng)}/stats?window=24h",
        "stats_30d": lambda rng: f"{detailed(rng)}/stats?window=30d",
        "timeline_24h": lambda rng: f"{detailed(rng)}/timeline?window=24h",
        "timeline_30d": lambda rng: f"{detailed(rng)}/timeline?window=30d",
        "stats_24h_sample": lambda rng: f"{sample(rng)}/stats?window=24h",
        "stats_30d_sample": lambda rng: f"{sample(rng)}/stats?window=30d",
        "checks": lambda rng: f"{sample(rng)}/checks",
    }


def verify(client: httpx.Client, fleet: Fleet) -> dict[str, int]:
    """The seeded history reads back through the API: otherwise the latencies would be
    those of empty answers."""
    some = fleet.detailed_public_ids[len(fleet.detailed_public_ids) // 2]
    raw = fleet.sample_public_ids[0]
    day = client.get(f"/api/v1/monitors/{some}/stats?window=24h").json()
    month = client.get(f"/api/v1/monitors/{some}/stats?window=30d").json()
    timeline = client.get(f"/api/v1/monitors/{some}/timeline?window=24h").json()
    checks = client.get(f"/api/v1/monitors/{raw}/checks").json()
    charted = sum(bucket["checks"] for bucket in timeline["buckets"])
    if not (0 < day["checks"] <= month["checks"] and day["p99_ms"] and charted and checks["data"]):
        raise SystemExit(f"the seeded history does not read back: {day}, {month}, {checks}")
    return {"stats_24h_checks": day["checks"], "stats_30d_checks": month["checks"]}


@dataclass(slots=True)
class Timings:
    latencies_ms: list[float] = dataclasses.field(default_factory=list)
    errors: int = 0


def measure(
    client: httpx.Client, paths: dict[str, Endpoint], rounds: int, rng: random.Random
) -> dict[str, Timings]:
    """WARMUP requests of each endpoint, then `rounds` rounds of one request of each, in a
    new shuffled order every round (so that no endpoint always follows another)."""
    for path in paths.values():
        for _ in range(WARMUP):
            client.get(path(rng)).raise_for_status()
    timings = {name: Timings() for name in paths}
    names = list(paths)
    for _ in range(rounds):
        rng.shuffle(names)
        for name in names:
            elapsed, response = timed_get(client, paths[name](rng))
            timings[name].latencies_ms.append(elapsed)
            timings[name].errors += response.status_code != 200
    return timings


def figures(latencies: list[float], errors: int = 0) -> dict[str, Any]:
    return {
        "p50_ms": round(percentile(latencies, 0.5), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
        "mean_ms": round(statistics.fmean(latencies), 2),
        "requests": len(latencies),
        "errors": errors,
    }


# The run.


@dataclass(frozen=True, slots=True)
class Observed:
    ready_seconds: float
    housekeeping_seconds: float
    walk: Walk
    read_back: dict[str, int]
    timings: dict[str, Timings]
    peak_rss_mb: float


def observe(args: argparse.Namespace, fleet: Fleet, database_url: str, scratch: str) -> Observed:
    port, log = free_port(), Path(args.server_log or Path(scratch) / "serve.log")
    began = time.monotonic()
    with running_server(server_env(database_url, scratch, port), log) as server:
        wait_ready(server, port, log)
        ready = time.monotonic() - began
        wait_housekeeping(server, log)
        housekeeping = time.monotonic() - began
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {fleet.token}"},
            timeout=120,
            trust_env=False,  # a proxy from the environment must not see these requests
        ) as client:
            walk = walk_list(client, len(fleet.ids))
            read_back = verify(client, fleet)
            rng = random.Random(2)  # noqa: S311 - picking monitors, not secrets
            timings = measure(client, endpoints(fleet, walk), args.requests, rng)
        peak = memory_mb(server.pid, "VmHWM")
        stop_server(server)
    return Observed(ready, housekeeping, walk, read_back, timings, peak)


def run(args: argparse.Namespace, database_url: str, scratch: str) -> dict[str, Any]:
    upgrade(database_url)
    seeding = time.monotonic()
    fleet = asyncio.run(seed(database_url, args))
    seed_seconds = time.monotonic() - seeding
    vacuum_seconds = settle(database_url)
    seen = observe(args, fleet, database_url, scratch)
    measured = {name: figures(t.latencies_ms, t.errors) for name, t in seen.timings.items()}
    every = {"list_walk": figures(seen.walk.latencies_ms), **measured}
    return {
        "monitors": args.monitors,
        "days": args.days,
        "history_monitors": args.history_monitors,
        "sample_monitors": args.sample_monitors,
        "backend": backend(database_url),
        "requests_per_endpoint": args.requests,
        "seed_seconds": round(seed_seconds, 2),
        "vacuum_seconds": vacuum_seconds,
        "database_bytes": database_bytes(database_url),
        **{f"{kind}_rows": count for kind, count in fleet.rows.items()},
        "ready_seconds": round(seen.ready_seconds, 2),
        "housekeeping_seconds": round(seen.housekeeping_seconds, 2),
        "list_walk_pages": seen.walk.pages,
        "list_walk_monitors": seen.walk.listed,
        **seen.read_back,
        "server_peak_rss_mb": round(seen.peak_rss_mb, 1),
        "errors": sum(t.errors for t in seen.timings.values()),
        "endpoints": every,
        **{
            f"{name}_{key}": value
            for name, figure in every.items()
            for key, value in figure.items()
            if key in {"p50_ms", "p99_ms"}
        },
    }


def summary(result: dict[str, Any]) -> str:
    vacuum = result["vacuum_seconds"]
    lines = [
        f"{result['monitors']} monitors, {result['days']} days of history on "
        f"{result['backend']} ({result['database_bytes'] / 1e9:.2f} GB, seeded in "
        f"{result['seed_seconds']} s; {result['rollups_minute_rows']} minute, "
        f"{result['rollups_hour_rows']} hour, {result['rollups_day_rows']} day rollups, "
        f"{result['check_results_rows']} raw results"
        f"{f', VACUUM (ANALYZE) {vacuum} s' if vacuum is not None else ''}); server ready in "
        f"{result['ready_seconds']} s, start-up housekeeping done after "
        f"{result['housekeeping_seconds']} s, peak RSS {result['server_peak_rss_mb']} MB; "
        f"{result['list_walk_monitors']} monitors listed in {result['list_walk_pages']} pages; "
        f"{result['errors']} errors"
    ]
    for name, figure in result["endpoints"].items():
        lines.append(
            f"  {name:<18} p50 {figure['p50_ms']:>8.2f} ms  p99 {figure['p99_ms']:>8.2f} ms  "
            f"max {figure['max_ms']:>8.2f} ms  ({figure['requests']} requests)"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30, help="days of history")
    parser.add_argument("--requests", type=int, default=200, help="measured, per endpoint")
    parser.add_argument(
        "--sample-monitors",
        type=int,
        default=100,
        help="monitors with all their minute rollups and a day of raw results",
    )
    parser.add_argument(
        "--history-monitors",
        type=int,
        help="the lighter mode: only this many monitors (spread over the list) get hour and "
        "minute rollups, the rest day rollups only; stats and timelines are read of these "
        "(default: every monitor)",
    )
    parser.add_argument("--server-log", help="keep the server's log in this file")
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to make a scratch database on (default: SQLite)"
    )
    args = parser.parse_args()
    if args.history_monitors is None:
        args.history_monitors = args.monitors
    if (
        not 1 <= args.sample_monitors <= args.history_monitors <= args.monitors
        or args.days < 1
        or args.requests < 1
    ):
        parser.error(
            "need 1 <= --sample-monitors <= --history-monitors <= --monitors, --days >= 1, "
            "--requests >= 1"
        )
    return args


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    configure_logging(Settings(log_level="warning"))  # the migrations' and seeding's logs
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database(args.database_url, "upwatch_bench_api"))
        scratch = stack.enter_context(tempfile.TemporaryDirectory())
        result = run(args, url, scratch)
    print(summary(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

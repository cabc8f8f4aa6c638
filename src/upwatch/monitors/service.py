"""Creating, changing and removing monitors. No commit here: the edge commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.audit import service as audit
from upwatch.core.errors import AppError, ConfigInvalidError, ErrorCode, FieldError
from upwatch.core.merge_patch import merge_patch
from upwatch.models import Monitor, MonitorState
from upwatch.monitors import repository, secrets
from upwatch.monitors.policy import MonitorStatus
from upwatch.monitors.repository import MonitorRow
from upwatch.monitors.schemas import MonitorCreate, MonitorUpdate
from upwatch.probes.base import ProbeConfig
from upwatch.probes.registry import PROBES, parse_config

# What the audit log shows of a monitor (config is audited separately, secrets redacted).
AUDITED = (
    "name", "kind", "target", "interval_seconds", "timeout_ms", "is_active", "execution_mode",
    "concurrency", "failure_threshold", "recovery_threshold", "degraded_above_ms",
    "spike_threshold_percent", "spike_min_diff_ms", "spike_consecutive", "maintenance_mode",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rules:
    """The operator's limits on monitors (from settings)."""

    min_interval_seconds: int
    allow_unverified_concurrency: bool


def _invalid(path: str, code: str, message: str) -> AppError:
    return AppError(ErrorCode.VALIDATION_FAILED, fields=[FieldError(path, code, message)])


def _check_schedule(rules: Rules, interval_seconds: int, timeout_ms: int) -> None:
    if interval_seconds < rules.min_interval_seconds:
        raise _invalid(
            "interval_seconds", "too_small", f"must be at least {rules.min_interval_seconds}"
        )
    if timeout_ms >= interval_seconds * 1000:
        raise _invalid("timeout_ms", "too_large", "must be shorter than the interval")


DEFAULT_TIMEOUT_MS = 10_000


def default_timeout_ms(interval_seconds: int) -> int:
    """10 s, or 3/4 of an interval too short for that (a check must end before the next)."""
    return min(DEFAULT_TIMEOUT_MS, interval_seconds * 750)


def host_of(kind: str, target: str) -> str:
    try:
        return PROBES[kind].check_target(target)
    except ValueError as exc:
        raise _invalid("target", "invalid", str(exc)) from None


def config_for(kind: str, config: ProbeConfig | None) -> dict[str, Any]:
    if config is not None and config.kind != kind:  # type: ignore[attr-defined]
        raise _invalid("config.kind", "invalid_choice", f"must be {kind}, like the monitor")
    chosen = config or parse_config({"kind": kind})
    return chosen.model_dump(mode="json")


def checked_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """`config` validated by the kind's schema (JSON-ready); ConfigInvalidError if bad."""
    try:
        return PROBES[kind].config_model.model_validate(config).model_dump(mode="json")
    except ValidationError as exc:
        raise ConfigInvalidError(list(exc.errors())) from None


def secret_paths(kind: str) -> tuple[str, ...]:
    return PROBES[kind].config_model.secret_paths  # type: ignore[attr-defined, no-any-return]


def _snapshot(monitor: Monitor) -> dict[str, Any]:
    return {name: getattr(monitor, name) for name in AUDITED}


async def _attach(
    session: AsyncSession, monitor: Monitor, rules: Rules, group_id: UUID | None, host: str
) -> None:
    """Group (must be ours), website (by host), and the concurrency rule that depends on it."""
    if group_id is not None:
        group = await repository.group(session, monitor.organization_id, group_id)
        if group is None:
            raise _invalid("group_id", "not_found", "no such group in this organization")
        monitor.group_id = group.id
    website = await repository.website_for_host(session, monitor.organization_id, host)
    monitor.website_id = website.id if website else None
    verified = website is not None and website.verified_at is not None
    if monitor.concurrency > 1 and not (verified or rules.allow_unverified_concurrency):
        raise _invalid(
            "concurrency",
            "requires_verified_website",
            f"above 1 needs a verified website for {host} (POST /api/v1/websites)",
        )


async def create(
    session: AsyncSession,
    actor: audit.Actor,
    store: secrets.SecretStore,
    rules: Rules,
    *,
    organization_id: int,
    data: MonitorCreate,
    now: datetime,
) -> Monitor:
    timeout_ms = data.timeout_ms or default_timeout_ms(data.interval_seconds)
    _check_schedule(rules, data.interval_seconds, timeout_ms)
    host = host_of(data.kind, data.target)
    public, hidden = secrets.split(config_for(data.kind, data.config), secret_paths(data.kind))
    monitor = Monitor(
        organization_id=organization_id,
        config=public,
        secret_config=store.seal(hidden),
        created_at=now,
        updated_at=now,
        **data.model_dump(include=set(AUDITED)),
    )
    monitor.target = data.target.strip()
    monitor.timeout_ms = timeout_ms
    await _attach(session, monitor, rules, data.group_id, host)
    session.add(monitor)
    await session.flush()
    session.add(MonitorState(monitor_id=monitor.id, **_initial_state(monitor)))
    await repository.replace_tags(session, monitor.id, data.tags)
    changes = audit.created({**_snapshot(monitor), "tags": sorted(set(data.tags))})
    changes["config"] = {"from": None, "to": secrets.redact(public, secret_paths(data.kind))}
    _record(session, actor, monitor, "monitor.create", changes, now)
    return monitor


def _initial_state(monitor: Monitor) -> dict[str, Any]:
    pending = str(MonitorStatus.PENDING)
    return {"status": _shown_status(monitor, pending), "check_status": pending}


def _shown_status(monitor: Monitor, check_status: str) -> str:
    """Paused and maintenance override what the checks say, from the moment they are set."""
    if not monitor.is_active:
        return str(MonitorStatus.PAUSED)
    if monitor.maintenance_mode:
        return str(MonitorStatus.MAINTENANCE)
    return check_status


def _record(
    session: AsyncSession,
    actor: audit.Actor,
    monitor: Monitor,
    action: str,
    changes: dict[str, Any],
    now: datetime,
) -> None:
    audit.record_for(session, actor, "monitor", monitor, action, changes, now)


async def find(session: AsyncSession, organization_id: int, public_id: UUID) -> MonitorRow:
    row = await repository.get(session, organization_id, public_id)
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, "No such monitor.")
    return row


async def update(
    session: AsyncSession,
    actor: audit.Actor,
    store: secrets.SecretStore,
    rules: Rules,
    row: MonitorRow,
    data: MonitorUpdate,
    now: datetime,
) -> Monitor:
    monitor = row.monitor
    before = {**_snapshot(monitor), "tags": row.tags}
    given = data.model_dump(exclude_unset=True)
    for name in AUDITED:
        if name in given and given[name] is not None:
            setattr(monitor, name, given[name])
    _check_schedule(rules, monitor.interval_seconds, monitor.timeout_ms)
    host = host_of(monitor.kind, monitor.target)
    config_changed = _update_config(monitor, store, data, "kind" in given)
    group_id = given.get("group_id", row.group_id)
    monitor.group_id = None
    await _attach(session, monitor, rules, group_id, host)
    tags = sorted(set(data.tags)) if data.tags is not None else row.tags
    await repository.replace_tags(session, monitor.id, tags)
    overrides = ("is_active", "maintenance_mode")
    if any(before[name] != getattr(monitor, name) for name in overrides):
        # Only then: a maintenance *window* also shows `maintenance`, and an edit of the
        # name must not end it.
        _sync_active(row.state, monitor)
    monitor.updated_at = now
    changes = audit.diff(before, {**_snapshot(monitor), "tags": tags})
    if config_changed:
        changes["config"] = (
            {"redacted": True} if secret_paths(monitor.kind) else {"to": monitor.config}
        )
    if changes:
        _record(session, actor, monitor, "monitor.update", changes, now)
    return monitor


def _update_config(
    monitor: Monitor, store: secrets.SecretStore, data: MonitorUpdate, kind_changed: bool
) -> bool:
    """Merge `config` (a JSON merge patch) into the stored one, secrets included, and check
    the result with the kind's schema. A new kind starts from that kind's defaults."""
    if data.config is None and not kind_changed:
        return False
    paths = secret_paths(monitor.kind)
    stored_secrets = store.open(monitor.secret_config)
    patch = dict(data.config or {})
    if patch.pop("kind", monitor.kind) != monitor.kind:
        raise _invalid("config.kind", "invalid_choice", f"must be {monitor.kind}, like the monitor")
    same_kind = monitor.config.get("kind") == monitor.kind
    stored = secrets.join(monitor.config, stored_secrets, paths) if same_kind else {}
    merged = merge_patch(stored, patch) | {"kind": monitor.kind}
    kept = secrets.keep_masked(merged, stored_secrets, paths)
    public, hidden = secrets.split(checked_config(monitor.kind, kept), paths)
    changed = public != monitor.config or hidden != store.open(monitor.secret_config)
    monitor.config, monitor.secret_config = public, store.seal(hidden)
    return changed


def _sync_active(state: MonitorState, monitor: Monitor) -> None:
    """Pausing shows `paused` at once, maintenance `maintenance`; resuming (or ending
    maintenance) shows what the checks last said."""
    if monitor.is_active and state.status == MonitorStatus.PAUSED:
        state.next_run_at = None  # a fresh slot (the API names it at once)
    overridden = {str(MonitorStatus.PAUSED), str(MonitorStatus.MAINTENANCE)}
    if state.status in overridden or not monitor.is_active or monitor.maintenance_mode:
        state.status = _shown_status(monitor, state.check_status)


async def set_active(
    session: AsyncSession, actor: audit.Actor, row: MonitorRow, active: bool, now: datetime
) -> Monitor:
    monitor = row.monitor
    if monitor.is_active != active:
        monitor.is_active = active
        monitor.updated_at = now
        _sync_active(row.state, monitor)
        action = "monitor.resume" if active else "monitor.pause"
        _record(session, actor, monitor, action, audit.diff(
            {"is_active": not active}, {"is_active": active}
        ), now)  # fmt: skip
    return monitor


async def remove(session: AsyncSession, actor: audit.Actor, row: MonitorRow, now: datetime) -> None:
    monitor = row.monitor
    snapshot = {"name": monitor.name, "kind": monitor.kind, "target": monitor.target}
    _record(session, actor, monitor, "monitor.delete", audit.snapshot(snapshot), now)
    # The database cascades to its state, tags, results and rollups.
    session.expunge(row.state)
    await session.delete(monitor)


async def set_parent(
    session: AsyncSession, monitor: Monitor, parent: UUID | None, field: str = "depends_on_id"
) -> None:
    """Make `monitor` depend on the organization's monitor `parent` (None: on none). While a
    parent is down its dependants' alerts are held back, so a cycle would hold each other
    back forever: refused, as is a parent of another organization (as if missing)."""
    if parent is None:
        monitor.depends_on_id = None
        return
    found = await repository.parent_link(session, monitor.organization_id, parent)
    if found is None:
        raise _invalid(field, "not_found", "no such monitor in this organization")
    parent_id, above = found
    seen, step = {monitor.id}, parent_id
    while True:  # up the chain of parents, one query a step
        if step in seen:
            raise _invalid(field, "cycle", "a monitor cannot depend on itself, even indirectly")
        if above is None:
            break
        seen.add(step)
        step, above = above, await repository.depends_on_of(session, above)
    monitor.depends_on_id = parent_id


def record_secrets_read(
    session: AsyncSession, actor: audit.Actor, row: MonitorRow, now: datetime
) -> None:
    """Reading secrets is a fact worth keeping: who read which monitor's, from where."""
    _record(session, actor, row.monitor, "monitor.secrets.read", {}, now)


def full_config(store: secrets.SecretStore, monitor: Monitor) -> dict[str, Any]:
    """The config with its secrets, to run the probe or for the secrets endpoint."""
    return secrets.join(
        monitor.config, store.open(monitor.secret_config), secret_paths(monitor.kind)
    )

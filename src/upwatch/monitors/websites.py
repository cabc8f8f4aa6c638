"""Websites: a domain whose monitors are grouped, and whose ownership can be verified with a
DNS TXT record or a file under /.well-known/, which unlocks concurrency > 1."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.audit import service as audit
from upwatch.core.credentials import new_secret
from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.models import Monitor, Website
from upwatch.monitors.service import host_of

TXT_PREFIX = "_upwatch-challenge"
TXT_VALUE_PREFIX = "upwatch-verification="
FILE_PATH = "/.well-known/upwatch-verification.txt"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


@dataclass(frozen=True, slots=True)
class Challenge:
    dns_name: str
    dns_value: str
    file_url: str
    file_content: str


def challenge(website: Website) -> Challenge:
    return Challenge(
        dns_name=f"{TXT_PREFIX}.{website.domain}",
        dns_value=f"{TXT_VALUE_PREFIX}{website.verification_token}",
        file_url=f"http://{website.domain}{FILE_PATH}",
        file_content=website.verification_token,
    )


def normalize_domain(domain: str) -> str:
    cleaned = domain.strip().lower().rstrip(".")
    if not _DOMAIN.match(cleaned):
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            fields=[FieldError("domain", "invalid", "must be a domain name like example.com")],
        )
    return cleaned


async def create(
    session: AsyncSession, actor: audit.Actor, organization_id: int, domain: str, now: datetime
) -> Website:
    domain = normalize_domain(domain)
    existing = await session.execute(
        select(Website).where(Website.organization_id == organization_id, Website.domain == domain)
    )
    if existing.scalar_one_or_none() is not None:
        raise AppError(ErrorCode.CONFLICT, f"The website {domain} already exists.")
    website = Website(
        organization_id=organization_id,
        domain=domain,
        verification_token=new_secret(),
        created_at=now,
    )
    session.add(website)
    await session.flush()
    await _link_monitors(session, website)
    _record(session, actor, website, "website.create", audit.created({"domain": domain}), now)
    return website


async def _link_monitors(session: AsyncSession, website: Website) -> None:
    """Monitors whose target is on this domain belong to it."""
    monitors = await session.execute(
        select(Monitor).where(Monitor.organization_id == website.organization_id)
    )
    ids = [monitor.id for monitor in monitors.scalars() if _host(monitor) == website.domain]
    if ids:
        await session.execute(
            update(Monitor).where(Monitor.id.in_(ids)).values(website_id=website.id)
        )


def _host(monitor: Monitor) -> str | None:
    try:
        return host_of(monitor.kind, monitor.target)
    except AppError:
        return None


def _record(
    session: AsyncSession,
    actor: audit.Actor,
    website: Website,
    action: str,
    changes: dict[str, object],
    now: datetime,
) -> None:
    audit.record(
        session,
        actor,
        organization_id=website.organization_id,
        action=action,
        resource_type="website",
        resource_id=str(website.public_id),
        changes=dict(changes),
        at=now,
    )


async def find(session: AsyncSession, organization_id: int, public_id: UUID) -> Website:
    result = await session.execute(
        select(Website).where(
            Website.organization_id == organization_id, Website.public_id == public_id
        )
    )
    website = result.scalar_one_or_none()
    if website is None:
        raise AppError(ErrorCode.NOT_FOUND, "No such website.")
    return website


async def mark_verified(
    session: AsyncSession, actor: audit.Actor, website: Website, method: str, now: datetime
) -> None:
    website.verified_at, website.verification_method = now, method
    _record(session, actor, website, "website.verify", {"method": method}, now)


async def remove(
    session: AsyncSession, actor: audit.Actor, website: Website, now: datetime
) -> None:
    _record(
        session, actor, website, "website.delete", audit.snapshot({"domain": website.domain}), now
    )
    await session.delete(website)

"""Websites: a domain whose monitors are grouped, and whose ownership can be verified with a
DNS TXT record or a file under /.well-known/, which unlocks concurrency > 1."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.audit import service as audit
from upwatch.core.credentials import new_secret
from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.models import Website
from upwatch.monitors.service import host_of
from upwatch.monitors.websites.repository import WebsiteRepository
from upwatch.net.ownership import fetch_text, txt_values

TXT_PREFIX = "_upwatch-challenge"
TXT_VALUE_PREFIX = "upwatch-verification="
FILE_PATH = "/.well-known/upwatch-verification.txt"
RESOURCE = "website"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")

VerificationMethod = Literal["dns", "file"]


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
    """Add the website and group under it the monitors whose target is on its domain."""
    domain = normalize_domain(domain)
    websites = WebsiteRepository(session)
    if await websites.by_domain(organization_id, domain) is not None:
        raise AppError(ErrorCode.CONFLICT, f"The website {domain} already exists.")
    website = await websites.add(
        Website(
            organization_id=organization_id,
            domain=domain,
            verification_token=new_secret(),
            created_at=now,
        )
    )
    targets = await websites.monitor_targets(organization_id)
    await websites.group_monitors(
        website, [id_ for id_, kind, target in targets if _host(kind, target) == domain]
    )
    changes = audit.created({"domain": domain})
    audit.record_for(session, actor, RESOURCE, website, "website.create", changes, now)
    return website


def _host(kind: str, target: str) -> str | None:
    try:
        return host_of(kind, target)
    except AppError:
        return None


async def verify(
    session: AsyncSession,
    actor: audit.Actor,
    website: Website,
    method: VerificationMethod,
    *,
    public_only: bool,
    now: datetime,
) -> None:
    """Look for the challenge now (DNS TXT record or file); 409 CONFLICT if it is not there."""
    proof = challenge(website)
    if method == "dns":
        found = proof.dns_value in await txt_values(proof.dns_name)
    else:
        text = await fetch_text(proof.file_url, host=website.domain, public_only=public_only)
        found = text is not None and text.strip() == proof.file_content
    if not found:
        where = proof.dns_name if method == "dns" else proof.file_url
        raise AppError(ErrorCode.CONFLICT, f"The verification was not found at {where}.")
    website.verified_at, website.verification_method = now, method
    audit.record_for(session, actor, RESOURCE, website, "website.verify", {"method": method}, now)


async def remove(
    session: AsyncSession, actor: audit.Actor, website: Website, now: datetime
) -> None:
    """Delete the website; its monitors stay, ungrouped (the foreign key sets them null)."""
    changes = audit.snapshot({"domain": website.domain})
    await audit.delete_recorded(session, actor, RESOURCE, website, "website.delete", changes, now)

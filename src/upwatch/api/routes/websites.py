"""`/api/v1/websites`: domains that group monitors, and proof of their ownership."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import func, select

from upwatch.api.auth import require
from upwatch.api.deps import Session, State, actor_for
from upwatch.api.pagination import CursorParam, Limit, Pagination, decode_cursor, pagination
from upwatch.core.errors import AppError, ErrorCode
from upwatch.core.principal import Principal
from upwatch.db.pagination import keyset_page
from upwatch.models import Monitor, Website
from upwatch.monitors import websites
from upwatch.net.ownership import fetch_text, txt_values
from upwatch.schema import Strict, Timestamp

router = APIRouter(prefix="/api/v1/websites", tags=["websites"])
Reader = Annotated[Principal, require("monitors:read")]
Writer = Annotated[Principal, require("monitors:write")]


class WebsiteCreate(Strict):
    domain: str


class VerifyRequest(Strict):
    method: Literal["dns", "file"]


class Verification(BaseModel):
    dns_txt_name: str
    dns_txt_value: str
    file_url: str
    file_content: str


class WebsiteRead(BaseModel):
    id: UUID
    domain: str
    is_verified: bool
    verified_at: Timestamp | None
    verification_method: str | None
    verification: Verification
    monitors: int
    created_at: Timestamp


class WebsiteList(BaseModel):
    data: list[WebsiteRead]
    pagination: Pagination


async def _read(session: Session, website: Website) -> WebsiteRead:
    count = await session.execute(
        select(func.count()).select_from(Monitor).where(Monitor.website_id == website.id)
    )
    proof = websites.challenge(website)
    return WebsiteRead(
        id=website.public_id,
        domain=website.domain,
        is_verified=website.verified_at is not None,
        verified_at=website.verified_at,
        verification_method=website.verification_method,
        verification=Verification(
            dns_txt_name=proof.dns_name,
            dns_txt_value=proof.dns_value,
            file_url=proof.file_url,
            file_content=proof.file_content,
        ),
        monitors=int(count.scalar_one()),
        created_at=website.created_at,
    )


@router.get("", summary="Websites of the organization, oldest first")
async def list_websites(
    principal: Reader, session: Session, limit: Limit = 25, cursor: CursorParam = None
) -> WebsiteList:
    query = select(Website).where(Website.organization_id == principal.organization_id)
    rows, next_key = await keyset_page(
        session,
        query,
        Website.public_id,
        limit=limit,
        after=decode_cursor(cursor),
        descending=False,
    )
    return WebsiteList(
        data=[await _read(session, row[0]) for row in rows], pagination=pagination(limit, next_key)
    )


@router.post("", status_code=201, summary="Add a website; its monitors are grouped under it")
async def create_website(
    body: WebsiteCreate, principal: Writer, session: Session, state: State, request: Request
) -> WebsiteRead:
    website = await websites.create(
        session,
        actor_for(request, principal),
        principal.organization_id,
        body.domain,
        state.clock.now(),
    )
    return await _read(session, website)


@router.get("/{website_id}", summary="A website and how to verify it")
async def read_website(website_id: UUID, principal: Reader, session: Session) -> WebsiteRead:
    return await _read(session, await websites.find(session, principal.organization_id, website_id))


@router.post(
    "/{website_id}/verify",
    summary="Check the DNS TXT record or the /.well-known/ file now",
)
async def verify_website(
    website_id: UUID,
    body: VerifyRequest,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
) -> WebsiteRead:
    website = await websites.find(session, principal.organization_id, website_id)
    proof = websites.challenge(website)
    if body.method == "dns":
        found = proof.dns_value in await txt_values(proof.dns_name)
    else:
        text = await fetch_text(
            proof.file_url, host=website.domain, public_only=state.settings.probe_public_only
        )
        found = text is not None and text.strip() == proof.file_content
    if not found:
        where = proof.dns_name if body.method == "dns" else proof.file_url
        raise AppError(ErrorCode.CONFLICT, f"The verification was not found at {where}.")
    await websites.mark_verified(
        session, actor_for(request, principal), website, body.method, state.clock.now()
    )
    return await _read(session, website)


@router.delete("/{website_id}", status_code=204, summary="Remove a website (monitors stay)")
async def delete_website(
    website_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> None:
    website = await websites.find(session, principal.organization_id, website_id)
    await websites.remove(session, actor_for(request, principal), website, state.clock.now())

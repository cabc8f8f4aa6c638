"""`/api/v1/websites`: domains that group monitors, and proof of their ownership."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from upwatch.api.auth import require
from upwatch.api.crud import CREATED, list_page, locate
from upwatch.api.deps import Session, State, actor_for
from upwatch.api.pagination import CursorParam, Limit, Pagination, pagination
from upwatch.core.principal import Principal
from upwatch.models import Website
from upwatch.monitors.websites import service as websites
from upwatch.monitors.websites.repository import WebsiteRepository
from upwatch.schema import Strict, Timestamp

PREFIX = "/api/v1/websites"
router = APIRouter(prefix=PREFIX, tags=["websites"])
Reader = Annotated[Principal, require("monitors:read")]
Writer = Annotated[Principal, require("monitors:write")]


class WebsiteCreate(Strict):
    domain: str


class VerifyRequest(Strict):
    method: websites.VerificationMethod


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


def _view(website: Website, monitors: int) -> WebsiteRead:
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
        monitors=monitors,
        created_at=website.created_at,
    )


async def _read(session: Session, website: Website) -> WebsiteRead:
    counts = await WebsiteRepository(session).monitor_counts([website])
    return _view(website, counts[website.id])


async def _find(session: Session, principal: Principal, website_id: UUID) -> Website:
    return await WebsiteRepository(session).get_or_404(principal.organization_id, website_id)


@router.get("", summary="Websites of the organization, oldest first")
async def list_websites(
    principal: Reader, session: Session, limit: Limit = 25, cursor: CursorParam = None
) -> WebsiteList:
    repository = WebsiteRepository(session)
    page = await list_page(
        repository, principal.organization_id, limit=limit, cursor=cursor, descending=False
    )
    counts = await repository.monitor_counts(page.rows)
    return WebsiteList(
        data=[_view(website, counts[website.id]) for website in page.rows],
        pagination=pagination(limit, page.next_key),
    )


@router.post(
    "",
    status_code=201,
    responses=CREATED,
    summary="Add a website; its monitors are grouped under it",
)
async def create_website(
    body: WebsiteCreate,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
    response: Response,
) -> WebsiteRead:
    website = await websites.create(
        session,
        actor_for(request, principal),
        principal.organization_id,
        body.domain,
        state.clock.now(),
    )
    locate(response, PREFIX, website.public_id)
    return await _read(session, website)


@router.get("/{website_id}", summary="A website and how to verify it")
async def read_website(website_id: UUID, principal: Reader, session: Session) -> WebsiteRead:
    return await _read(session, await _find(session, principal, website_id))


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
    website = await _find(session, principal, website_id)
    await websites.verify(
        session, actor_for(request, principal), website, body.method,
        public_only=state.settings.probe_public_only, now=state.clock.now(),
    )  # fmt: skip
    return await _read(session, website)


@router.delete("/{website_id}", status_code=204, summary="Remove a website (monitors stay)")
async def delete_website(
    website_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> None:
    website = await _find(session, principal, website_id)
    await websites.remove(session, actor_for(request, principal), website, state.clock.now())

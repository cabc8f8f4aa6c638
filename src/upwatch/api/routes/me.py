"""`/api/v1/me`: who am I, and my personal access tokens."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from upwatch.accounts import repository, tokens
from upwatch.api.auth import require
from upwatch.api.crud import CREATED
from upwatch.api.deps import Session, State, WriteSession, actor_for
from upwatch.api.pagination import CursorParam, Limit, Pagination, decode_cursor, pagination
from upwatch.api.quotas import QuotaUsage, enforce_quota, organization_quotas
from upwatch.api.schemas import Strict, Timestamp
from upwatch.audit import service as audit
from upwatch.core.principal import Principal
from upwatch.core.scopes import ROLE_SCOPES, expand
from upwatch.models import ApiToken
from upwatch.notify import secrets as notify_secrets

router = APIRouter(prefix="/api/v1/me", tags=["me"])


class TokenCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] | None = Field(
        None,
        min_length=1,
        description=(
            "`resource:read|write`, `resource:*` or `*`; at most what the caller can do itself"
            " (its token's scopes within its role). Default: all of that (`*` for an owner)."
        ),
    )
    expires_at: Timestamp | None = Field(None, description="Never expires when null.")
    daily_mutation_limit: int | None = Field(
        None, ge=1, description="Most POST/PUT/PATCH/DELETE a day (UTC); null: no cap."
    )


class TokenRead(BaseModel):
    id: UUID
    name: str
    prefix: str
    scopes: list[str]
    expires_at: Timestamp | None
    daily_mutation_limit: int | None
    created_at: Timestamp
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenRead:
        return cls(
            id=token.public_id,
            name=token.name,
            prefix=token.prefix,
            scopes=list(token.scopes),
            expires_at=token.expires_at,
            daily_mutation_limit=token.daily_mutation_limit,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class TokenCreated(TokenRead):
    token: str = Field(description="The token itself. Shown this once; store it now.")


class TokenList(BaseModel):
    data: list[TokenRead]
    pagination: Pagination


class UserRef(BaseModel):
    id: UUID
    email: str


class OrganizationRef(BaseModel):
    id: UUID
    name: str


class CurrentToken(BaseModel):
    id: UUID
    name: str
    prefix: str
    scopes: list[str]
    expires_at: Timestamp | None
    daily_mutation_limit: int | None
    mutations_today: int


class Me(BaseModel):
    user: UserRef
    organization: OrganizationRef
    role: str
    via: str = Field(description="`token` or `session`.")
    token: CurrentToken | None
    effective_scopes: list[str] = Field(description="What this request can do: role ∩ token.")
    rate_limit_per_minute: int
    quotas: dict[str, QuotaUsage]


Caller = Annotated[Principal, require("tokens:read")]
Writer = Annotated[Principal, require("tokens:write")]


@router.get("", summary="The current user, organization, role, token, quotas")
async def read_me(
    principal: Annotated[Principal, require("organization:read")], session: Session, state: State
) -> Me:
    organization = await repository.organization_by_id(session, principal.organization_id)
    token = None
    if principal.token_public_id is not None:
        found = await repository.token_of(
            session, principal.organization_id, principal.user_id, principal.token_public_id
        )
        assert found is not None
        assert principal.token_id is not None
        used = await repository.mutations_on(session, principal.token_id, state.clock.now().date())
        token = CurrentToken(
            id=found.public_id,
            name=found.name,
            prefix=found.prefix,
            scopes=list(found.scopes),
            expires_at=found.expires_at,
            daily_mutation_limit=found.daily_mutation_limit,
            mutations_today=used,
        )
    return Me(
        user=UserRef(id=principal.user_public_id, email=principal.email),
        organization=OrganizationRef(id=organization.public_id, name=organization.name),
        role=str(principal.role),
        via=str(principal.via),
        token=token,
        effective_scopes=sorted(expand(principal.scopes) & ROLE_SCOPES[principal.role]),
        rate_limit_per_minute=state.settings.rate_limit_per_minute,
        quotas=await organization_quotas(session, state.settings, principal.organization_id),
    )


@router.get("/tokens", summary="My tokens in this organization (never their plaintext)")
async def list_tokens(
    principal: Caller, session: Session, limit: Limit = 25, cursor: CursorParam = None
) -> TokenList:
    found, next_key = await repository.tokens_of(
        session,
        principal.organization_id,
        principal.user_id,
        limit=limit,
        after=decode_cursor(cursor),
    )
    return TokenList(
        data=[TokenRead.of(token) for token in found], pagination=pagination(limit, next_key)
    )


@router.post(
    "/tokens",
    status_code=201,
    responses=CREATED,
    summary="Mint a token; the response shows it once",
)
async def create_token(
    body: TokenCreate,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
    response: Response,
) -> TokenCreated:
    await enforce_quota(
        request,
        "tokens",
        used=await repository.count_active_tokens(session, principal.organization_id),
        limit=state.settings.quota_max_tokens,
    )
    scopes = body.scopes
    if scopes is None:
        scopes = tokens.grantable_scopes(principal.scopes, principal.role)
    tokens.check_grantable(scopes, held=principal.scopes, role=principal.role)
    token, plaintext = await tokens.create_token(
        session,
        actor_for(request, principal),
        organization_id=principal.organization_id,
        user_id=principal.user_id,
        name=body.name,
        scopes=scopes,
        expires_at=body.expires_at,
        daily_mutation_limit=body.daily_mutation_limit,
        now=state.clock.now(),
    )
    response.headers["Location"] = f"/api/v1/me/tokens/{token.public_id}"
    return TokenCreated(**TokenRead.of(token).model_dump(), token=plaintext)


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke a token, effective at once")
async def revoke_token(
    token_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> None:
    await tokens.revoke_token(
        session, actor_for(request, principal), principal, token_id, state.clock.now()
    )


class WebhookSecret(BaseModel):
    secret: str = Field(description="Verifies `Upwatch-Signature` on every outgoing webhook.")


@router.get(
    "/webhook-secret", summary="The organization's webhook signing secret (made on first read)"
)
async def read_webhook_secret(
    principal: Annotated[Principal, require("secrets:read")],
    session: WriteSession,  # a GET that writes: the secret on first read, the audit entry
    state: State,
    request: Request,
) -> WebhookSecret:
    secret = await notify_secrets.webhook_secret(
        session, state.webhook_secret_box, principal.organization_id
    )
    audit.record(
        session, actor_for(request, principal), organization_id=principal.organization_id,
        action="webhook_secret.read", resource_type="organization", resource_id=None,
        changes={}, at=state.clock.now(),
    )  # fmt: skip
    return WebhookSecret(secret=secret)


@router.post(
    "/webhook-secret/rotate", summary="Replace the webhook secret (the old one stops at once)"
)
async def rotate_webhook_secret(
    principal: Annotated[Principal, require("secrets:read")],
    session: Session,
    state: State,
    request: Request,
) -> WebhookSecret:
    secret = await notify_secrets.rotate_webhook_secret(
        session, state.webhook_secret_box, principal.organization_id
    )
    audit.record(
        session, actor_for(request, principal), organization_id=principal.organization_id,
        action="webhook_secret.rotate", resource_type="organization", resource_id=None,
        changes={}, at=state.clock.now(),
    )  # fmt: skip
    return WebhookSecret(secret=secret)

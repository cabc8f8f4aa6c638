"""Personal access tokens: minting, listing, revoking, and resolving a bearer to a Principal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.accounts import repository
from upwatch.accounts.principals import principal_of
from upwatch.audit import service as audit
from upwatch.core.credentials import (
    display_prefix,
    hash_secret,
    looks_like_token,
    new_token,
    same_hash,
)
from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.core.principal import Principal, Via
from upwatch.core.scopes import ALL_SCOPES, ROLE_SCOPES, Role, beyond, expand, is_valid_scope
from upwatch.models import ApiToken

# Writing `last_used_at` on every request would make every read a write; once a minute is
# precise enough to tell an unused token from a used one.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def validate_scopes(scopes: Sequence[str], path: str = "scopes") -> list[str]:
    """Known scopes only. A scope the owner's role lacks is allowed (roles change) but
    grants nothing until the role does: both checks apply on every request."""
    unknown = [scope for scope in scopes if not is_valid_scope(scope)]
    if unknown:
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            fields=[FieldError(path, "invalid_choice", f"unknown scope: {', '.join(unknown)}")],
        )
    return sorted(set(scopes))


def grantable_scopes(held: Sequence[str], role: Role) -> list[str]:
    """What a new token gets when none are asked for: all its minter can do (`*` if that is
    everything), never more."""
    effective = expand(held) & ROLE_SCOPES[role]
    return ["*"] if effective == ALL_SCOPES else sorted(effective)


def check_grantable(requested: Sequence[str], *, held: Sequence[str], role: Role) -> None:
    """A token mints only tokens within its own scopes and its owner's role: otherwise a
    `tokens:write` token could mint a `*` one. 403 naming each scope it may not grant."""
    lacking = beyond(requested, held)
    if lacking:
        raise AppError(
            ErrorCode.TOKEN_SCOPE_INSUFFICIENT,
            f"A token can only grant scopes it holds; this one lacks {', '.join(lacking)}.",
            fields=_scope_fields(requested, lacking, "not_held", "beyond the token's own scopes"),
        )
    over_role = beyond(requested, ROLE_SCOPES[role])
    if over_role:
        raise AppError(
            ErrorCode.FORBIDDEN,
            f"Your role ({role}) does not allow {', '.join(over_role)}.",
            fields=_scope_fields(requested, over_role, "not_allowed", f"beyond the {role} role"),
        )


def _scope_fields(
    requested: Sequence[str], refused: Sequence[str], code: str, why: str
) -> list[FieldError]:
    return [
        FieldError(f"scopes[{index}]", code, f"{scope} is {why}")
        for index, scope in enumerate(requested)
        if scope in refused
    ]


async def create_token(
    session: AsyncSession,
    actor: audit.Actor,
    *,
    organization_id: int,
    user_id: int,
    name: str,
    scopes: Sequence[str],
    expires_at: datetime | None,
    daily_mutation_limit: int | None,
    now: datetime,
) -> tuple[ApiToken, str]:
    """A new token and its plaintext, which is never stored and never shown again."""
    if expires_at is not None and expires_at <= now:
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            fields=[FieldError("expires_at", "too_small", "must be in the future")],
        )
    plaintext = new_token()
    token = ApiToken(
        organization_id=organization_id,
        user_id=user_id,
        name=name,
        token_hash=hash_secret(plaintext),
        prefix=display_prefix(plaintext),
        scopes=validate_scopes(scopes),
        expires_at=expires_at,
        daily_mutation_limit=daily_mutation_limit,
        created_at=now,
    )
    session.add(token)
    await session.flush()
    audit.record(
        session,
        actor,
        organization_id=organization_id,
        action="token.create",
        resource_type="token",
        resource_id=str(token.public_id),
        changes=audit.created(
            {
                "name": name,
                "prefix": token.prefix,
                "scopes": token.scopes,
                "expires_at": expires_at.isoformat() if expires_at else None,
                "daily_mutation_limit": daily_mutation_limit,
            }
        ),
        at=now,
    )
    return token, plaintext


async def revoke_token(
    session: AsyncSession, actor: audit.Actor, principal: Principal, public_id: UUID, now: datetime
) -> ApiToken:
    token = await repository.token_of(
        session, principal.organization_id, principal.user_id, public_id
    )
    if token is None:
        raise AppError(ErrorCode.NOT_FOUND, "No such token.")
    if token.revoked_at is None:
        token.revoked_at = now
        audit.record(
            session,
            actor,
            organization_id=principal.organization_id,
            action="token.revoke",
            resource_type="token",
            resource_id=str(token.public_id),
            changes=audit.snapshot({"name": token.name, "prefix": token.prefix}),
            at=now,
        )
    return token


async def principal_for_token(session: AsyncSession, plaintext: str, now: datetime) -> Principal:
    """The principal a bearer token acts as, or 401 if it is unknown, revoked or expired, or
    if its owner no longer belongs to the token's organization."""
    if not looks_like_token(plaintext):
        raise AppError(ErrorCode.UNAUTHENTICATED, "The token is not a valid Upwatch token.")
    digest = hash_secret(plaintext)
    found = await repository.token_with_owner(session, digest)
    if found is None or not same_hash(found[0].token_hash, digest):
        raise AppError(ErrorCode.UNAUTHENTICATED, "The token is not valid.")
    token, user, membership, organization = found
    if token.revoked_at is not None:
        raise AppError(ErrorCode.UNAUTHENTICATED, "The token has been revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise AppError(ErrorCode.UNAUTHENTICATED, "The token has expired.")
    if membership is None:
        raise AppError(ErrorCode.UNAUTHENTICATED, "The token's owner left its organization.")
    return replace(
        principal_of(user, membership, organization),
        via=Via.TOKEN,
        scopes=tuple(token.scopes),
        token_id=token.id,
        token_public_id=token.public_id,
        token_prefix=token.prefix,
        daily_mutation_limit=token.daily_mutation_limit,
        last_used_at=token.last_used_at,
    )


def needs_touch(principal: Principal, now: datetime) -> bool:
    last = principal.last_used_at
    return principal.token_id is not None and (last is None or now - last >= LAST_USED_RESOLUTION)


def effective_scopes(token: ApiToken, role: Role) -> list[str]:
    """What the token can really do: its scopes narrowed by its owner's role."""
    return sorted(expand(token.scopes) & ROLE_SCOPES[role])

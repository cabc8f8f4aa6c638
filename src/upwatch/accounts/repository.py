"""Queries for organizations, users, memberships, tokens, sessions and invitations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.db.pagination import keyset_page
from upwatch.models import (
    ApiToken,
    Invitation,
    Membership,
    Organization,
    TokenDailyUsage,
    User,
    UserSession,
)


async def count_users(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(User))).scalar_one())


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == email.lower()))
    return result.scalar_one_or_none()


async def user_by_public_id(session: AsyncSession, public_id: UUID) -> User | None:
    result = await session.execute(select(User).where(User.public_id == public_id))
    return result.scalar_one_or_none()


async def organization_by_name(session: AsyncSession, name: str) -> Organization | None:
    result = await session.execute(select(Organization).where(Organization.name == name))
    return result.scalars().first()


async def first_organization(session: AsyncSession) -> Organization | None:
    result = await session.execute(select(Organization).order_by(Organization.id).limit(1))
    return result.scalar_one_or_none()


async def organization_public_ids(session: AsyncSession) -> dict[int, str]:
    """Every organization's public id by internal id (metrics labels; a small table)."""
    rows = await session.execute(select(Organization.id, Organization.public_id))
    return {internal: str(public) for internal, public in rows}


async def organization_by_id(session: AsyncSession, organization_id: int) -> Organization:
    return (
        await session.execute(select(Organization).where(Organization.id == organization_id))
    ).scalar_one()


async def membership(
    session: AsyncSession, organization_id: int, user_id: int
) -> Membership | None:
    result = await session.execute(
        select(Membership).where(
            Membership.organization_id == organization_id, Membership.user_id == user_id
        )
    )
    return result.scalar_one_or_none()


async def first_membership(session: AsyncSession, user_id: int) -> Membership | None:
    result = await session.execute(
        select(Membership).where(Membership.user_id == user_id).order_by(Membership.id).limit(1)
    )
    return result.scalar_one_or_none()


async def members(
    session: AsyncSession, organization_id: int, *, limit: int, after: UUID | None
) -> tuple[Sequence[tuple[User, Membership]], UUID | None]:
    """Members in the order their accounts were created (user ids are UUIDv7)."""
    query = (
        select(User, Membership)
        .join(Membership, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id)
    )
    rows, next_key = await keyset_page(
        session, query, User.public_id, limit=limit, after=after, descending=False
    )
    return [(row[0], row[1]) for row in rows], next_key


async def count_members(
    session: AsyncSession, organization_id: int, role: str | None = None
) -> int:
    query = (
        select(func.count())
        .select_from(Membership)
        .where(Membership.organization_id == organization_id)
    )
    if role is not None:
        query = query.where(Membership.role == role)
    return int((await session.execute(query)).scalar_one())


async def token_with_owner(
    session: AsyncSession, token_hash: str
) -> tuple[ApiToken, User, Membership | None, Organization] | None:
    """The token, its user, the user's membership in the token's organization (None once the
    user has left it), and the organization."""
    result = await session.execute(
        select(ApiToken, User, Membership, Organization)
        .join(User, User.id == ApiToken.user_id)
        .join(Organization, Organization.id == ApiToken.organization_id)
        .outerjoin(
            Membership,
            (Membership.user_id == ApiToken.user_id)
            & (Membership.organization_id == ApiToken.organization_id),
        )
        .where(ApiToken.token_hash == token_hash)
    )
    row = result.first()
    return None if row is None else (row[0], row[1], row[2], row[3])


async def tokens_of(
    session: AsyncSession, organization_id: int, user_id: int, *, limit: int, after: UUID | None
) -> tuple[Sequence[ApiToken], UUID | None]:
    """The user's tokens in the organization, newest first."""
    query = select(ApiToken).where(
        ApiToken.organization_id == organization_id, ApiToken.user_id == user_id
    )
    rows, next_key = await keyset_page(session, query, ApiToken.public_id, limit=limit, after=after)
    return [row[0] for row in rows], next_key


async def count_active_tokens(session: AsyncSession, organization_id: int) -> int:
    query = (
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.organization_id == organization_id, ApiToken.revoked_at.is_(None))
    )
    return int((await session.execute(query)).scalar_one())


async def token_of(
    session: AsyncSession, organization_id: int, user_id: int, public_id: UUID
) -> ApiToken | None:
    result = await session.execute(
        select(ApiToken).where(
            ApiToken.organization_id == organization_id,
            ApiToken.user_id == user_id,
            ApiToken.public_id == public_id,
        )
    )
    return result.scalar_one_or_none()


async def touch_token(session: AsyncSession, token_id: int, at: datetime) -> None:
    await session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at))


async def count_mutation(
    session: AsyncSession, token_id: int, day: date, limit: int | None
) -> int | None:
    """Count one more mutation for the token on `day` unless that would pass `limit`.

    Returns the new count, or None when the cap is reached (nothing counted). One atomic
    statement, so concurrent requests can never exceed the cap together.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    under_limit = None if limit is None else TokenDailyUsage.mutations < limit
    upsert = (
        insert(TokenDailyUsage)
        .values(token_id=token_id, day=day, mutations=1)
        .on_conflict_do_update(
            index_elements=[TokenDailyUsage.token_id, TokenDailyUsage.day],
            set_={"mutations": TokenDailyUsage.mutations + 1},
            where=under_limit,
        )
        .returning(TokenDailyUsage.mutations)
    )
    count = (await session.execute(upsert)).scalar_one_or_none()
    return None if count is None else int(count)


async def mutations_on(session: AsyncSession, token_id: int, day: date) -> int:
    result = await session.execute(
        select(TokenDailyUsage.mutations).where(
            TokenDailyUsage.token_id == token_id, TokenDailyUsage.day == day
        )
    )
    return int(result.scalar_one_or_none() or 0)


async def session_with_user(
    session: AsyncSession, session_hash: str
) -> tuple[UserSession, User, Membership | None, Organization] | None:
    result = await session.execute(
        select(UserSession, User, Membership, Organization)
        .join(User, User.id == UserSession.user_id)
        .join(Organization, Organization.id == UserSession.organization_id)
        .outerjoin(
            Membership,
            (Membership.user_id == UserSession.user_id)
            & (Membership.organization_id == UserSession.organization_id),
        )
        .where(UserSession.session_hash == session_hash)
    )
    row = result.first()
    return None if row is None else (row[0], row[1], row[2], row[3])


async def delete_session(session: AsyncSession, session_hash: str) -> None:
    await session.execute(delete(UserSession).where(UserSession.session_hash == session_hash))


async def delete_sessions_of(
    session: AsyncSession, user_id: int, *, keep_hash: str | None = None
) -> None:
    """End every dashboard session of the user, but the one whose hash is `keep_hash`."""
    query = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_hash is not None:
        query = query.where(UserSession.session_hash != keep_hash)
    await session.execute(query)


async def user_by_id(session: AsyncSession, user_id: int) -> User:
    return (await session.execute(select(User).where(User.id == user_id))).scalar_one()


async def invitation_by_code(session: AsyncSession, code_hash: str) -> Invitation | None:
    result = await session.execute(select(Invitation).where(Invitation.code_hash == code_hash))
    return result.scalar_one_or_none()


async def pending_invitations(
    session: AsyncSession, organization_id: int, *, limit: int, after: UUID | None
) -> tuple[Sequence[Invitation], UUID | None]:
    """Invitations not yet accepted, newest first."""
    query = select(Invitation).where(
        Invitation.organization_id == organization_id, Invitation.accepted_at.is_(None)
    )
    rows, next_key = await keyset_page(
        session, query, Invitation.public_id, limit=limit, after=after
    )
    return [row[0] for row in rows], next_key


async def invitation_of(
    session: AsyncSession, organization_id: int, public_id: UUID
) -> Invitation | None:
    result = await session.execute(
        select(Invitation).where(
            Invitation.organization_id == organization_id, Invitation.public_id == public_id
        )
    )
    return result.scalar_one_or_none()


async def purge_expired(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(UserSession).where(UserSession.expires_at < now))

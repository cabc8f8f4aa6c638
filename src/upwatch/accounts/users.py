"""Users, organizations and dashboard sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.accounts import repository
from upwatch.accounts.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from upwatch.accounts.principals import principal_of
from upwatch.audit import service as audit
from upwatch.core.credentials import hash_secret, new_secret, same_hash
from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.core.principal import Principal
from upwatch.core.scopes import Role
from upwatch.models import Membership, Organization, User, UserSession

SESSION_LIFETIME = timedelta(days=14)
DEFAULT_ORGANIZATION = "Default organization"


def check_password_strength(password: str, path: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            fields=[
                FieldError(path, "too_short", f"must be at least {MIN_PASSWORD_LENGTH} characters")
            ],
        )


async def create_organization(
    session: AsyncSession, actor: audit.Actor, name: str, now: datetime
) -> Organization:
    organization = Organization(name=name, created_at=now)
    session.add(organization)
    await session.flush()
    audit.record(
        session,
        actor,
        organization_id=organization.id,
        action="organization.create",
        resource_type="organization",
        resource_id=str(organization.public_id),
        changes=audit.created({"name": name}),
        at=now,
    )
    return organization


async def create_user(
    session: AsyncSession,
    actor: audit.Actor,
    *,
    email: str,
    password: str | None,
    organization: Organization,
    role: Role,
    now: datetime,
    name: str = "",
) -> User:
    """A new user with a role in `organization`; 409 if the email is taken."""
    email = email.strip().lower()
    if await repository.user_by_email(session, email) is not None:
        raise AppError(ErrorCode.CONFLICT, f"A user with the email {email} already exists.")
    user = await register(session, email=email, password=password, name=name, now=now)
    await add_membership(session, actor, organization, user, role, now)
    return user


async def register(
    session: AsyncSession, *, email: str, password: str | None, name: str, now: datetime
) -> User:
    """The user row alone; callers add the membership (and its audit entry)."""
    if password is not None:
        check_password_strength(password)
    user = User(
        email=email.strip().lower(),
        name=name,
        password_hash=hash_password(password) if password is not None else None,
        created_at=now,
    )
    session.add(user)
    await session.flush()
    return user


async def add_membership(
    session: AsyncSession,
    actor: audit.Actor,
    organization: Organization,
    user: User,
    role: Role,
    now: datetime,
) -> Membership:
    membership = Membership(
        organization_id=organization.id, user_id=user.id, role=str(role), created_at=now
    )
    session.add(membership)
    await session.flush()
    audit.record(
        session,
        actor,
        organization_id=organization.id,
        action="member.add",
        resource_type="member",
        resource_id=str(user.public_id),
        changes=audit.created({"email": user.email, "role": str(role)}),
        at=now,
    )
    return membership


@dataclass(frozen=True, slots=True)
class NewSession:
    secret: str  # goes in the HttpOnly cookie
    csrf_token: str  # the dashboard echoes it in X-CSRF-Token on every write
    expires_at: datetime
    principal: Principal


async def login(
    session: AsyncSession, actor: audit.Actor, email: str, password: str, now: datetime
) -> NewSession:
    user = await repository.user_by_email(session, email.strip())
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise AppError(ErrorCode.UNAUTHENTICATED, "The email or password is incorrect.")
    membership = await repository.first_membership(session, user.id)
    if membership is None:
        raise AppError(ErrorCode.UNAUTHENTICATED, "This user belongs to no organization.")
    secret, csrf = new_secret(), new_secret()
    expires_at = now + SESSION_LIFETIME
    session.add(
        UserSession(
            session_hash=hash_secret(secret),
            csrf_hash=hash_secret(csrf),
            user_id=user.id,
            organization_id=membership.organization_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    user.last_login_at = now
    organization = await repository.organization_by_id(session, membership.organization_id)
    principal = principal_of(user, membership, organization)
    audit.record(
        session,
        actor.as_user(user.id, user.email),
        organization_id=organization.id,
        action="session.create",
        resource_type="session",
        resource_id=None,
        changes={},
        at=now,
    )
    return NewSession(secret, csrf, expires_at, principal)


async def logout(session: AsyncSession, secret: str) -> None:
    await repository.delete_session(session, hash_secret(secret))


async def principal_for_session(
    session: AsyncSession, secret: str, now: datetime
) -> tuple[Principal, str]:
    """The principal of a dashboard session cookie and the hash of its CSRF token."""
    found = await repository.session_with_user(session, hash_secret(secret))
    if found is None or found[0].expires_at <= now:
        raise AppError(ErrorCode.UNAUTHENTICATED, "The session has expired; sign in again.")
    user_session, user, membership, organization = found
    if membership is None:
        raise AppError(ErrorCode.UNAUTHENTICATED, "You no longer belong to this organization.")
    return principal_of(user, membership, organization), user_session.csrf_hash


def csrf_matches(csrf_hash: str, supplied: str | None) -> bool:
    return supplied is not None and same_hash(csrf_hash, hash_secret(supplied))


async def change_password(
    session: AsyncSession,
    actor: audit.Actor,
    principal: Principal,
    *,
    current: str,
    new: str,
    session_secret: str | None,
    now: datetime,
) -> None:
    """A signed-in user's own change: the current password proves it is them (a session left
    open on another machine is not enough). Their other sessions end."""
    user = await repository.user_by_id(session, principal.user_id)
    if not verify_password(user.password_hash, current):
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            fields=[FieldError("current_password", "incorrect", "is not your current password")],
        )
    keep = hash_secret(session_secret) if session_secret else None
    await set_password(session, actor, user, new, principal.organization_id, now, keep_hash=keep)


async def set_password(
    session: AsyncSession,
    actor: audit.Actor,
    user: User,
    password: str,
    organization_id: int,
    now: datetime,
    *,
    keep_hash: str | None = None,
    path: str = "new_password",
) -> None:
    """Replace the user's password, end their sessions (but `keep_hash`), and audit it."""
    check_password_strength(password, path)
    user.password_hash = hash_password(password)
    await repository.delete_sessions_of(session, user.id, keep_hash=keep_hash)
    audit.record(
        session,
        actor,
        organization_id=organization_id,
        action="user.set_password",
        resource_type="user",
        resource_id=str(user.public_id),
        changes={"password": "redacted"},
        at=now,
    )

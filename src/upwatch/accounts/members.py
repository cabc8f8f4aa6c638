"""Members and their roles, and invitations to join an organization."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.accounts import repository, users
from upwatch.accounts.passwords import verify_password
from upwatch.audit import service as audit
from upwatch.core.credentials import hash_secret, new_secret
from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.core.principal import Principal
from upwatch.core.scopes import ROLE_RANK, ROLE_SCOPES, Role, beyond
from upwatch.models import Invitation, Membership, User

INVITATION_LIFETIME = timedelta(days=7)


def _may_manage(principal: Principal, current: Role, target: Role) -> None:
    """Nobody changes or grants a role above their own."""
    mine = ROLE_RANK[principal.role]
    if ROLE_RANK[current] > mine or ROLE_RANK[target] > mine:
        raise AppError(
            ErrorCode.FORBIDDEN, f"Your role ({principal.role}) cannot manage {target} members."
        )


def _may_grant(principal: Principal, role: Role) -> None:
    """A token grants no role beyond its own scopes: a `members:write` token cannot make an
    owner (or anyone who could then do what the token cannot)."""
    lacking = beyond(ROLE_SCOPES[role], principal.scopes)
    if lacking:
        raise AppError(
            ErrorCode.TOKEN_SCOPE_INSUFFICIENT,
            f"The {role} role includes {', '.join(sorted(lacking))}, which this token lacks;"
            " a token can only grant a role within its own scopes.",
            fields=[FieldError("role", "not_held", f"{role} is beyond the token's scopes")],
        )


async def _member(
    session: AsyncSession, principal: Principal, user_public_id: UUID
) -> tuple[Membership, User]:
    user = await repository.user_by_public_id(session, user_public_id)
    found = (
        await repository.membership(session, principal.organization_id, user.id) if user else None
    )
    if user is None or found is None:
        raise AppError(ErrorCode.NOT_FOUND, "No such member.")
    return found, user


async def _keep_an_owner(session: AsyncSession, membership: Membership) -> None:
    if membership.role == Role.OWNER:
        owners = await repository.count_members(session, membership.organization_id, Role.OWNER)
        if owners <= 1:
            raise AppError(ErrorCode.SOLE_OWNER)


async def change_role(
    session: AsyncSession,
    actor: audit.Actor,
    principal: Principal,
    user_public_id: UUID,
    role: Role,
    now: datetime,
) -> tuple[Membership, User]:
    membership, user = await _member(session, principal, user_public_id)
    current = Role(membership.role)
    _may_manage(principal, current, role)
    if role != current:
        _may_grant(principal, role)
        if role != Role.OWNER:
            await _keep_an_owner(session, membership)
        membership.role = str(role)
        audit.record(
            session,
            actor,
            organization_id=principal.organization_id,
            action="member.update",
            resource_type="member",
            resource_id=str(user.public_id),
            changes=audit.diff({"role": str(current)}, {"role": str(role)}),
            at=now,
        )
    return membership, user


async def remove_member(
    session: AsyncSession,
    actor: audit.Actor,
    principal: Principal,
    user_public_id: UUID,
    now: datetime,
) -> None:
    membership, user = await _member(session, principal, user_public_id)
    _may_manage(principal, Role(membership.role), Role(membership.role))
    await _keep_an_owner(session, membership)
    await session.delete(membership)
    audit.record(
        session,
        actor,
        organization_id=principal.organization_id,
        action="member.remove",
        resource_type="member",
        resource_id=str(user.public_id),
        changes=audit.snapshot({"email": user.email, "role": membership.role}),
        at=now,
    )


async def invite(
    session: AsyncSession,
    actor: audit.Actor,
    principal: Principal,
    email: str,
    role: Role,
    now: datetime,
) -> tuple[Invitation, str]:
    """A new invitation and its one-time code (shown once, stored as a hash)."""
    _may_manage(principal, role, role)
    _may_grant(principal, role)
    email = email.strip().lower()
    existing = await repository.user_by_email(session, email)
    if existing and await repository.membership(session, principal.organization_id, existing.id):
        raise AppError(ErrorCode.CONFLICT, f"{email} is already a member.")
    code = new_secret()
    invitation = Invitation(
        organization_id=principal.organization_id,
        email=email,
        role=str(role),
        code_hash=hash_secret(code),
        invited_by_user_id=principal.user_id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    session.add(invitation)
    await session.flush()
    audit.record(
        session,
        actor,
        organization_id=principal.organization_id,
        action="invitation.create",
        resource_type="invitation",
        resource_id=str(invitation.public_id),
        changes=audit.created({"email": email, "role": str(role)}),
        at=now,
    )
    return invitation, code


async def revoke_invitation(
    session: AsyncSession,
    actor: audit.Actor,
    principal: Principal,
    public_id: UUID,
    now: datetime,
) -> None:
    invitation = await repository.invitation_of(session, principal.organization_id, public_id)
    if invitation is None or invitation.accepted_at is not None:
        raise AppError(ErrorCode.NOT_FOUND, "No such pending invitation.")
    await session.delete(invitation)
    audit.record(
        session,
        actor,
        organization_id=principal.organization_id,
        action="invitation.revoke",
        resource_type="invitation",
        resource_id=str(invitation.public_id),
        changes=audit.snapshot({"email": invitation.email, "role": invitation.role}),
        at=now,
    )


async def accept_invitation(
    session: AsyncSession,
    actor: audit.Actor,
    code: str,
    password: str,
    name: str,
    now: datetime,
) -> tuple[User, Membership]:
    """Join with an invitation code. A new user sets their password; an existing user proves
    theirs."""
    invitation = await repository.invitation_by_code(session, hash_secret(code))
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= now:
        raise AppError(ErrorCode.NOT_FOUND, "This invitation is unknown, used or expired.")
    organization = await repository.organization_by_id(session, invitation.organization_id)
    user = await repository.user_by_email(session, invitation.email)
    role = Role(invitation.role)
    if user is None:
        user = await users.register(
            session, email=invitation.email, password=password, name=name, now=now
        )
    elif not verify_password(user.password_hash, password):
        raise AppError(ErrorCode.UNAUTHENTICATED, "The password is incorrect.")
    elif await repository.membership(session, organization.id, user.id):
        raise AppError(ErrorCode.CONFLICT, "You are already a member.")
    # The invitee joins by their own act: the audit entry names them.
    membership = await users.add_membership(
        session, actor.as_user(user.id, user.email), organization, user, role, now
    )
    invitation.accepted_at = now
    return user, membership

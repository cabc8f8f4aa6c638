"""First run: on an empty database, create an organization, its owner and an admin token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.accounts import repository, tokens, users
from upwatch.audit.service import Actor, Source
from upwatch.core.credentials import new_secret
from upwatch.core.scopes import Role


@dataclass(frozen=True, slots=True)
class FirstRun:
    organization: str
    email: str
    password: str | None  # generated here, so shown once; None when the operator chose it
    token: str


async def first_run(
    session: AsyncSession, *, email: str, password: str | None, now: datetime
) -> FirstRun | None:
    """Set up the first owner, or do nothing if any user exists.

    Two processes starting at once may both get here; the unique email makes the second
    one's transaction fail, so only one set of credentials ever exists.
    """
    if await repository.count_users(session) > 0:
        return None
    actor = Actor(source=Source.SYSTEM)
    organization = await users.create_organization(session, actor, users.DEFAULT_ORGANIZATION, now)
    generated = new_secret()[:24] if password is None else None
    user = await users.create_user(
        session,
        actor,
        email=email,
        password=password or generated,
        organization=organization,
        role=Role.OWNER,
        now=now,
        name="Administrator",
    )
    _, plaintext = await tokens.create_token(
        session,
        actor.as_user(user.id, user.email),
        organization_id=organization.id,
        user_id=user.id,
        name="first-run admin token",
        scopes=["*"],
        expires_at=None,
        daily_mutation_limit=None,
        now=now,
    )
    return FirstRun(organization.name, user.email, generated, plaintext)

"""Seeding organizations, users and tokens straight through the services, for API tests."""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import select, text

from upwatch.accounts import tokens, users
from upwatch.accounts.passwords import hash_password
from upwatch.audit.service import Actor, Source
from upwatch.core.clock import SystemClock
from upwatch.core.scopes import Role
from upwatch.db.engine import Database
from upwatch.db.unit_of_work import unit_of_work
from upwatch.models import Organization, User

SEED = Actor(source=Source.SYSTEM)
PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


@dataclass(frozen=True)
class Person:
    email: str
    password: str
    user_id: UUID
    token: str
    token_id: UUID
    role: Role


@dataclass(frozen=True)
class Tenant:
    name: str
    organization_id: UUID
    owner: Person


class Seeder:
    """Creates data in the test's database, the way the product itself would."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def _run(self, work):  # type: ignore[no-untyped-def]
        async def main():  # type: ignore[no-untyped-def]
            database = Database(self.database_url)
            try:
                return await work(database)
            finally:
                await database.dispose()

        return asyncio.run(main())

    def tenant(self, name: str | None = None) -> Tenant:
        name = name or f"Org {next(_numbers)}"

        async def work(database: Database) -> Tenant:
            async with unit_of_work(database) as session:
                organization = await users.create_organization(
                    session, SEED, name, SystemClock().now()
                )
                organization_id = organization.public_id
            # On the same engine: one connection for both, not one per step.
            owner = await self._person(database, organization_id, Role.OWNER, ("*",))
            return Tenant(name, organization_id, owner)

        return self._run(work)

    def person(
        self,
        organization_id: UUID,
        role: Role,
        scopes: Sequence[str] = ("*",),
        *,
        daily_mutation_limit: int | None = None,
        created_at: datetime | None = None,
        expires_in: timedelta | None = None,
    ) -> Person:
        return self._run(
            lambda database: self._person(
                database,
                organization_id,
                role,
                scopes,
                daily_mutation_limit=daily_mutation_limit,
                created_at=created_at,
                expires_in=expires_in,
            )
        )

    async def _person(
        self,
        database: Database,
        organization_id: UUID,
        role: Role,
        scopes: Sequence[str],
        *,
        daily_mutation_limit: int | None = None,
        created_at: datetime | None = None,
        expires_in: timedelta | None = None,
    ) -> Person:
        email = f"user{next(_numbers)}@example.com"
        now = created_at or SystemClock().now()
        async with unit_of_work(database) as session:
            organization = (
                await session.execute(
                    select(Organization).where(Organization.public_id == organization_id)
                )
            ).scalar_one()
            user = await users.create_user(
                session,
                SEED,
                email=email,
                password=None,
                organization=organization,
                role=role,
                now=now,
            )
            # The same Argon2id hash for every seeded person: hashing is deliberately
            # slow, and the tests need many people, not many hashes.
            user.password_hash = _password_hash()
            token, plaintext = await tokens.create_token(
                session,
                SEED.as_user(user.id, user.email),
                organization_id=organization.id,
                user_id=user.id,
                name="test token",
                scopes=list(scopes),
                expires_at=now + expires_in if expires_in else None,
                daily_mutation_limit=daily_mutation_limit,
                now=now,
            )
            return Person(email, PASSWORD, user.public_id, plaintext, token.public_id, role)

    def token_for(
        self, person: Person, organization_id: UUID, scopes: Sequence[str], **options: object
    ) -> str:
        """Another token for an existing person (same organization)."""

        async def work(database: Database) -> str:
            now = SystemClock().now()
            async with unit_of_work(database) as session:
                organization = (
                    await session.execute(
                        select(Organization).where(Organization.public_id == organization_id)
                    )
                ).scalar_one()
                user = (
                    await session.execute(select(User).where(User.public_id == person.user_id))
                ).scalar_one()
                _, plaintext = await tokens.create_token(
                    session,
                    SEED,
                    organization_id=organization.id,
                    user_id=user.id,
                    name="extra token",
                    scopes=list(scopes),
                    expires_at=options.get("expires_at"),  # type: ignore[arg-type]
                    daily_mutation_limit=options.get("daily_mutation_limit"),  # type: ignore[arg-type]
                    now=now,
                )
                return plaintext

        return self._run(work)

    def scalar(self, sql: str) -> object:
        """One value from a raw SQL query, to check what is really stored."""

        async def work(database: Database) -> object:
            async with database.session() as session:
                return (await session.execute(text(sql))).scalar()

        return self._run(work)

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        async def work(database: Database) -> list[tuple[object, ...]]:
            async with database.session() as session:
                return [tuple(row) for row in (await session.execute(text(sql))).all()]

        return self._run(work)

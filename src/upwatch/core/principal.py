"""Who is making a request: a user, in one organization, with a role, through a token or a
dashboard session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from upwatch.core.scopes import Role, role_allows, token_allows


class Via(StrEnum):
    TOKEN = "token"
    SESSION = "session"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    user_public_id: UUID
    email: str
    organization_id: int
    organization_public_id: UUID
    role: Role
    via: Via
    scopes: tuple[str, ...]  # the token's scopes; ("*",) for a session
    token_id: int | None = None
    token_public_id: UUID | None = None
    token_prefix: str | None = None
    daily_mutation_limit: int | None = None
    last_used_at: datetime | None = None

    def token_grants(self, scope: str) -> bool:
        return token_allows(self.scopes, scope)

    def role_grants(self, scope: str) -> bool:
        return role_allows(self.role, scope)

    @property
    def rate_limit_key(self) -> str:
        """Who a rate limit or an idempotency key belongs to. Public ids, because Redis may
        be shared by several installations whose integer ids overlap."""
        if self.token_public_id is not None:
            return f"token:{self.token_public_id}"
        return f"user:{self.user_public_id}"

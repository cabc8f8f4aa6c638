"""Organization quotas (operator settings, unlimited by default): checked before a resource
is created, reported by `GET /api/v1/me` and by `X-Quota-<Resource>-*` headers."""

from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.accounts import repository
from upwatch.api.deps import add_response_headers
from upwatch.core.errors import AppError, ErrorCode
from upwatch.heartbeats import repository as heartbeat_repository
from upwatch.monitors import repository as monitor_repository
from upwatch.settings import Settings


class QuotaUsage(BaseModel):
    limit: int | None  # null: unlimited
    used: int


async def organization_quotas(
    session: AsyncSession, settings: Settings, organization_id: int
) -> dict[str, QuotaUsage]:
    return {
        "monitors": QuotaUsage(
            limit=settings.quota_max_monitors,
            used=await monitor_repository.count_monitors(session, organization_id),
        ),
        "heartbeats": QuotaUsage(
            limit=settings.quota_max_heartbeats,
            used=await heartbeat_repository.count_heartbeats(session, organization_id),
        ),
        "members": QuotaUsage(
            limit=settings.quota_max_members,
            used=await repository.count_members(session, organization_id),
        ),
        "tokens": QuotaUsage(
            limit=settings.quota_max_tokens,
            used=await repository.count_active_tokens(session, organization_id),
        ),
    }


async def enforce_quota(request: Request, resource: str, *, used: int, limit: int | None) -> None:
    """Refuse (429 QUOTA_EXCEEDED) creating one more `resource` when `used` reached `limit`."""
    if limit is None:
        return
    name = resource.capitalize()
    headers = {
        f"X-Quota-{name}-Limit": str(limit),
        f"X-Quota-{name}-Remaining": str(max(0, limit - used - 1)),
    }
    if used >= limit:
        headers[f"X-Quota-{name}-Remaining"] = "0"
        add_response_headers(request, headers)
        raise AppError(
            ErrorCode.QUOTA_EXCEEDED,
            f"The organization has {used} of at most {limit} {resource}.",
            headers=headers,
        )
    add_response_headers(request, headers)

"""What a silence or a maintenance window names: ids of this organization's monitors,
heartbeats and groups, checked before they are stored."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.db.base import PublicIdMixin
from upwatch.db.repository import owned_public_ids


def invalid(path: str, code: str, message: str) -> AppError:
    return AppError(ErrorCode.VALIDATION_FAILED, fields=[FieldError(path, code, message)])


async def checked_ids(
    session: AsyncSession,
    organization_id: int,
    model: type[PublicIdMixin],
    ids: list[UUID],
    field: str,
) -> list[str]:
    """`ids` without repeats, as stored; a field error names the first one that is not the
    organization's (another organization's id answers like a missing one)."""
    found = await owned_public_ids(session, model, organization_id, ids)
    for index, public_id in enumerate(ids):
        if public_id not in found:
            raise invalid(f"{field}[{index}]", "not_found", "no such resource")
    return [str(public_id) for public_id in dict.fromkeys(ids)]

"""The organization's webhook secret: signs every outgoing webhook (channels of kind
`webhook` and subscriptions). Sealed at rest; made on first use; rotating it replaces it."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.channels.signing import new_secret
from upwatch.crypto import SecretBox
from upwatch.models import Organization


async def webhook_secret(session: AsyncSession, box: SecretBox, organization_id: int) -> str:
    """The secret, made now if the organization has none (the first writer wins)."""
    query = select(Organization.webhook_secret_sealed).where(Organization.id == organization_id)
    sealed = (await session.execute(query)).scalar_one()
    if sealed is None:
        await session.execute(
            update(Organization)
            .where(Organization.id == organization_id, Organization.webhook_secret_sealed.is_(None))
            .values(webhook_secret_sealed=box.encrypt(new_secret().encode()))
        )
        sealed = (await session.execute(query)).scalar_one()
    assert sealed is not None
    return box.decrypt(sealed).decode()


async def rotate_webhook_secret(session: AsyncSession, box: SecretBox, organization_id: int) -> str:
    secret = new_secret()
    await session.execute(
        update(Organization)
        .where(Organization.id == organization_id)
        .values(webhook_secret_sealed=box.encrypt(secret.encode()))
    )
    return secret

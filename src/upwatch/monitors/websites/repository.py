"""Queries of websites and of the monitors grouped under them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update

from upwatch.db.repository import Repository, count_by
from upwatch.models import Monitor, Website


class WebsiteRepository(Repository[Website]):
    model = Website
    noun = "website"

    async def by_domain(self, organization_id: int, domain: str) -> Website | None:
        query = self.owned_by(organization_id).where(Website.domain == domain)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def monitor_targets(self, organization_id: int) -> list[tuple[int, str, str]]:
        """(id, kind, target) of each of the organization's monitors."""
        query = select(Monitor.id, Monitor.kind, Monitor.target).where(
            Monitor.organization_id == organization_id
        )
        return [(id_, kind, target) for id_, kind, target in await self.session.execute(query)]

    async def group_monitors(self, website: Website, monitor_ids: list[int]) -> None:
        if monitor_ids:
            await self.session.execute(
                update(Monitor).where(Monitor.id.in_(monitor_ids)).values(website_id=website.id)
            )

    async def monitor_counts(self, websites: Sequence[Website]) -> dict[int, int]:
        return await count_by(self.session, Monitor.website_id, [site.id for site in websites])

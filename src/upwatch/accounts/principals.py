"""Building a Principal from the rows that define it."""

from __future__ import annotations

from upwatch.core.principal import Principal, Via
from upwatch.core.scopes import Role
from upwatch.models import Membership, Organization, User


def principal_of(user: User, membership: Membership, organization: Organization) -> Principal:
    """A session principal (scopes `*`); token authentication narrows it with the token."""
    return Principal(
        user_id=user.id,
        user_public_id=user.public_id,
        email=user.email,
        organization_id=organization.id,
        organization_public_id=organization.public_id,
        role=Role(membership.role),
        via=Via.SESSION,
        scopes=("*",),
    )

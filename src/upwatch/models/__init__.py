"""ORM tables, one module per table. Importing this package registers them all on Base."""

from upwatch.models.api_token import ApiToken
from upwatch.models.audit_log import AuditLog
from upwatch.models.idempotency_key import IdempotencyKey
from upwatch.models.invitation import Invitation
from upwatch.models.membership import Membership
from upwatch.models.organization import Organization
from upwatch.models.token_usage import TokenDailyUsage
from upwatch.models.user import User
from upwatch.models.user_session import UserSession

__all__ = [
    "ApiToken",
    "AuditLog",
    "IdempotencyKey",
    "Invitation",
    "Membership",
    "Organization",
    "TokenDailyUsage",
    "User",
    "UserSession",
]

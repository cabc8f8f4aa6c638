"""`/api/v1/webhooks`: organization-level subscriptions to events, signed with the
organization's webhook secret (`/api/v1/me/webhook-secret`)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from upwatch.api.auth import require
from upwatch.api.crud import CREATED
from upwatch.api.deps import Session, State, WriteSession, actor_for
from upwatch.api.pagination import CursorParam, Limit, Pagination, decode_cursor, pagination
from upwatch.api.state import AppState
from upwatch.audit import service as audit
from upwatch.channels.destinations import guard_host
from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.core.principal import Principal
from upwatch.models import Notification, Webhook
from upwatch.net.guard import AddressNotAllowedError
from upwatch.notify import deliveries, subscriptions
from upwatch.notify.schemas import (
    DeliveryView,
    TestResult,
    WebhookCreate,
    WebhookPatch,
    WebhookSecrets,
    WebhookView,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
Reader = Annotated[Principal, require("webhooks:read")]
Writer = Annotated[Principal, require("webhooks:write")]


class WebhookList(BaseModel):
    data: list[WebhookView]
    pagination: Pagination


class WebhookDeliveryList(BaseModel):
    data: list[DeliveryView]
    pagination: Pagination


def view(webhook: Webhook) -> WebhookView:
    return WebhookView(
        id=webhook.public_id, has_url=True, url_host=webhook.url_host,
        event_types=webhook.event_types,
        description=webhook.description, is_enabled=webhook.is_enabled,
        disabled_reason=webhook.disabled_reason,
        consecutive_failures=webhook.consecutive_failures, created_at=webhook.created_at,
        updated_at=webhook.updated_at,
    )  # fmt: skip


async def _checked_url(state: AppState, url: str) -> str:
    """The destination must pass the SSRF guard now (and again at each send)."""
    try:
        await guard_host(
            urlsplit(url).hostname, public_only=not state.settings.allow_private_destinations
        )
    except AddressNotAllowedError as exc:
        raise AppError(
            ErrorCode.DESTINATION_NOT_ALLOWED, fields=[FieldError("url", "not_allowed", str(exc))]
        ) from None
    except OSError:
        pass  # a name that does not resolve yet is checked again at send time
    return url


def _vault(state: AppState) -> subscriptions.UrlVault:
    return subscriptions.UrlVault(state.webhook_secret_box)


async def _find(session: Session, principal: Principal, webhook_id: UUID) -> Webhook:
    webhook = await subscriptions.find(session, principal.organization_id, webhook_id)
    if webhook is None:
        raise AppError(ErrorCode.NOT_FOUND, "No such webhook.")
    return webhook


@router.get("", summary="The organization's webhook subscriptions")
async def list_webhooks(
    principal: Reader, session: Session, limit: Limit = 25, cursor: CursorParam = None
) -> WebhookList:
    rows, after = await subscriptions.page(
        session, principal.organization_id, limit=limit, after=decode_cursor(cursor)
    )
    return WebhookList(data=[view(row) for row in rows], pagination=pagination(limit, after))


@router.post("", status_code=201, responses=CREATED, summary="Subscribe an endpoint to event types")
async def create_webhook(
    body: WebhookCreate,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
    response: Response,
) -> WebhookView:
    values: dict[str, Any] = body.model_dump()
    values["url"] = await _checked_url(state, str(body.url))
    webhook = await subscriptions.create(
        session, actor_for(request, principal), _vault(state),
        organization_id=principal.organization_id, values=values, now=state.clock.now(),
    )  # fmt: skip
    response.headers["Location"] = f"/api/v1/webhooks/{webhook.public_id}"
    return view(webhook)


@router.get("/{webhook_id}", summary="A webhook subscription")
async def read_webhook(webhook_id: UUID, principal: Reader, session: Session) -> WebhookView:
    return view(await _find(session, principal, webhook_id))


@router.patch("/{webhook_id}", summary="Change a webhook (re-enable with is_enabled=true)")
async def change_webhook(
    webhook_id: UUID,
    body: WebhookPatch,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
) -> WebhookView:
    webhook = await _find(session, principal, webhook_id)
    given = body.model_dump(exclude_unset=True)
    for name in ("url", "event_types", "is_enabled"):
        if name in given and given[name] is None:
            raise AppError(
                ErrorCode.VALIDATION_FAILED,
                fields=[FieldError(name, "null_not_allowed", "may be left out, not null")],
            )
    if "url" in given:
        given["url"] = await _checked_url(state, str(body.url))
    subscriptions.change(
        session, actor_for(request, principal), _vault(state), webhook, given, state.clock.now()
    )
    return view(webhook)


@router.delete("/{webhook_id}", status_code=204, summary="Delete a webhook subscription")
async def delete_webhook(
    webhook_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> Response:
    webhook = await _find(session, principal, webhook_id)
    await subscriptions.remove(session, actor_for(request, principal), webhook, state.clock.now())
    return Response(status_code=204)


@router.get("/{webhook_id}/secrets", summary="The subscription's URL (audited)")
async def read_webhook_secrets(
    webhook_id: UUID,
    principal: Annotated[Principal, require("secrets:read")],
    session: WriteSession,  # a GET that writes its audit entry
    state: State,
    request: Request,
) -> WebhookSecrets:
    webhook = await _find(session, principal, webhook_id)
    audit.record_for(
        session, actor_for(request, principal), "webhook", webhook, "webhook.secrets.read", {},
        state.clock.now(),
    )  # fmt: skip
    return WebhookSecrets(url=_vault(state).url_of(webhook))


@router.get("/{webhook_id}/deliveries", summary="The delivery log, newest first")
async def list_webhook_deliveries(
    webhook_id: UUID,
    principal: Reader,
    session: Session,
    limit: Limit = 25,
    cursor: CursorParam = None,
) -> WebhookDeliveryList:
    webhook = await _find(session, principal, webhook_id)
    rows, after = await deliveries.page(
        session, Notification.webhook_id == webhook.id, limit=limit, after=decode_cursor(cursor)
    )
    return WebhookDeliveryList(data=rows, pagination=pagination(limit, after))


@router.post("/{webhook_id}/test", summary="Send a `webhook.test` event now; the delivery result")
async def test_webhook(
    webhook_id: UUID, principal: Writer, session: Session, state: State
) -> TestResult:
    webhook = await _find(session, principal, webhook_id)
    notification = subscriptions.test_notification(webhook, state.clock.now())
    session.add(notification)
    await session.commit()  # the dispatcher reads it in its own transaction
    return await deliveries.send_now(session, state.dispatcher, notification)

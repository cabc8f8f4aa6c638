"""`/api/v1/channels`: where alerts go, with routing rules; secrets sealed, test sends."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy import select

from upwatch.api.auth import require
from upwatch.api.crud import CREATED
from upwatch.api.deps import Session, State, WriteSession, actor_for
from upwatch.api.pagination import CursorParam, Limit, Pagination, decode_cursor, pagination
from upwatch.api.state import AppState
from upwatch.audit import service as audit
from upwatch.core.errors import AppError, ConfigInvalidError, ErrorCode
from upwatch.core.principal import Principal
from upwatch.models import Notification, NotificationChannel
from upwatch.monitors import service as monitor_service
from upwatch.notify import alerting, channels, deliveries
from upwatch.notify.schemas import (
    ChannelCreate,
    ChannelPatch,
    ChannelView,
    DeliveryView,
    TestResult,
)

router = APIRouter(prefix="/api/v1/channels", tags=["channels"])
Reader = Annotated[Principal, require("channels:read")]
Writer = Annotated[Principal, require("channels:write")]


class ChannelList(BaseModel):
    data: list[ChannelView]
    pagination: Pagination


class DeliveryList(BaseModel):
    data: list[DeliveryView]
    pagination: Pagination


class ChannelSecrets(BaseModel):
    config: dict[str, Any]


async def _checked(state: AppState, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    try:
        return await channels.checked_config(
            kind, config, public_only=not state.settings.allow_private_destinations
        )
    except ConfigInvalidError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", "config", *error["loc"])} for error in exc.errors]
        ) from None


async def find(session: Session, principal: Principal, channel_id: UUID) -> NotificationChannel:
    channel = await channels.find(session, principal.organization_id, channel_id)
    if channel is None:
        raise AppError(ErrorCode.NOT_FOUND, "No such channel.")
    return channel


@router.get("", summary="The organization's channels")
async def list_channels(
    principal: Reader, session: Session, state: State, limit: Limit = 25, cursor: CursorParam = None
) -> ChannelList:
    rows, after = await deliveries.page_channels(
        session, principal.organization_id, limit=limit, after=decode_cursor(cursor)
    )
    return ChannelList(
        data=[channels.view(state.channel_vault, row) for row in rows],
        pagination=pagination(limit, after),
    )


@router.post("", status_code=201, responses=CREATED, summary="Add a channel")
async def create_channel(
    body: ChannelCreate,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
    response: Response,
) -> ChannelView:
    config = await _checked(state, body.kind, body.config)
    channel = await channels.create(
        session, actor_for(request, principal), state.channel_vault,
        organization_id=principal.organization_id, data=body, config=config,
        now=state.clock.now(),
    )  # fmt: skip
    response.headers["Location"] = f"/api/v1/channels/{channel.public_id}"
    return channels.view(state.channel_vault, channel)


@router.get("/{channel_id}", summary="A channel (secret fields as has_* flags)")
async def read_channel(
    channel_id: UUID, principal: Reader, session: Session, state: State
) -> ChannelView:
    return channels.view(state.channel_vault, await find(session, principal, channel_id))


@router.patch("/{channel_id}", summary="Change a channel (re-enable with is_enabled=true)")
async def change_channel(
    channel_id: UUID,
    body: ChannelPatch,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
) -> ChannelView:
    channel = await find(session, principal, channel_id)
    config = None
    if body.config is not None:
        merged = channels.merged_config(state.channel_vault, channel, body.config)
        config = await _checked(state, channel.kind, merged)
    channels.change(
        session, actor_for(request, principal), state.channel_vault, channel, body, config,
        state.clock.now(),
    )  # fmt: skip
    return channels.view(state.channel_vault, channel)


@router.delete("/{channel_id}", status_code=204, summary="Delete a channel")
async def delete_channel(
    channel_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> Response:
    channel = await find(session, principal, channel_id)
    await channels.remove(session, actor_for(request, principal), channel, state.clock.now())
    return Response(status_code=204)


@router.get("/{channel_id}/secrets", summary="The full config, secrets included (audited)")
async def read_channel_secrets(
    channel_id: UUID,
    principal: Annotated[Principal, require("secrets:read")],
    session: WriteSession,  # a GET that writes its audit entry
    state: State,
    request: Request,
) -> ChannelSecrets:
    channel = await find(session, principal, channel_id)
    audit.record_for(
        session, actor_for(request, principal), "channel", channel, "channel.secrets.read", {},
        state.clock.now(),
    )  # fmt: skip
    return ChannelSecrets(config=state.channel_vault.full_config(channel))


@router.get("/{channel_id}/deliveries", summary="The delivery log, newest first")
async def list_channel_deliveries(
    channel_id: UUID,
    principal: Reader,
    session: Session,
    limit: Limit = 25,
    cursor: CursorParam = None,
) -> DeliveryList:
    channel = await find(session, principal, channel_id)
    rows, after = await deliveries.page(
        session, Notification.channel_id == channel.id, limit=limit, after=decode_cursor(cursor)
    )
    return DeliveryList(data=rows, pagination=pagination(limit, after))


@router.post("/{channel_id}/test", summary="Send a test message now; the delivery result")
async def test_channel(
    channel_id: UUID, principal: Writer, session: Session, state: State
) -> TestResult:
    channel = await find(session, principal, channel_id)
    notification = deliveries.test_notification(channel, state.clock.now())
    session.add(notification)
    await session.commit()  # the dispatcher reads it in its own transaction
    return await deliveries.send_now(session, state.dispatcher, notification)


monitor_router = APIRouter(prefix="/api/v1/monitors", tags=["channels"])


class TestAlertResult(BaseModel):
    data: list[TestResult]


@monitor_router.post(
    "/{monitor_id}/test-alert", summary="Send a sample alert through every channel of a monitor"
)
async def send_test_alert(
    monitor_id: UUID,
    principal: Annotated[Principal, require("monitors:write")],
    session: Session,
    state: State,
) -> TestAlertResult:
    monitor = await monitor_service.find(session, principal.organization_id, monitor_id)
    subject = (await alerting.subjects(session, [("monitor", monitor.monitor.id)]))[
        ("monitor", monitor.monitor.id)
    ]
    found = await session.execute(
        select(NotificationChannel)
        .where(
            NotificationChannel.organization_id == principal.organization_id,
            NotificationChannel.is_enabled.is_(True),
        )
        .order_by(NotificationChannel.id)
    )
    chosen = [
        channel
        for channel in found.scalars()
        if channel.is_default or channel.id in subject.channel_ids
    ]
    now = state.clock.now()
    tests = []
    for channel in chosen:
        notification = deliveries.test_notification(channel, now)
        notification.payload = deliveries.sample_alert(subject.as_payload(), now)
        notification.event_type = notification.payload["event_type"]
        session.add(notification)
        tests.append(notification)
    await session.commit()
    return TestAlertResult(
        data=[await deliveries.send_now(session, state.dispatcher, n) for n in tests]
    )

"""Events shared between processes through Redis pub/sub.

Every process publishes to one channel and listens to it; what it hears (its own events
included) goes through a local `MemoryEventBus`, which keeps the replay buffer and feeds the
local subscribers. Order is Redis's order, the same for every process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection
from datetime import datetime
from typing import Any

import orjson
from redis.asyncio import Redis

from upwatch.core.waiting import wait_for_event
from upwatch.events.bus import Event, Filter, MemoryEventBus, Subscription
from upwatch.logs import get_logger

CHANNEL = "upwatch:events"
READY_WAIT_SECONDS = 3.0
log = get_logger("upwatch.events")


def _encode(event: Event) -> bytes:
    return orjson.dumps(
        {
            "id": event.id,
            "type": event.type,
            "organization_id": event.organization_id,
            "resource_id": event.resource_id,
            "created_at": event.created_at.isoformat(),
            "data": event.data,
        }
    )


def _decode(raw: bytes) -> Event:
    fields: dict[str, Any] = orjson.loads(raw)
    return Event(
        id=fields["id"],
        type=fields["type"],
        organization_id=fields["organization_id"],
        resource_id=fields["resource_id"],
        created_at=datetime.fromisoformat(fields["created_at"]),
        data=fields["data"],
    )


class RedisEventBus:
    def __init__(self, redis: Redis, namespace: str = "") -> None:
        """`namespace` keeps installations that share a Redis apart (their organization
        ids overlap); every process of one installation must use the same."""
        self._redis = redis
        self._channel = f"{CHANNEL}:{namespace}" if namespace else CHANNEL
        self._local = MemoryEventBus()
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Listen before anything is published, so no event of ours is missed. If Redis is
        down the process still starts (/health/ready says so) and listening resumes later."""
        self._listener = asyncio.create_task(self._listen(), name="redis-event-listener")
        if not await wait_for_event(self._ready, READY_WAIT_SECONDS):
            log.warning("events.redis_not_ready")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    self._ready.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._local.deliver([_decode(message["data"])])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: keep trying, events resume after
                log.warning("events.redis_listener_failed", error=repr(exc))
                await asyncio.sleep(1)

    async def publish(self, events: Collection[Event]) -> None:
        if not events:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.publish(self._channel, _encode(event))
            await pipe.execute()

    def subscribe(self, where: Filter) -> Subscription:
        return self._local.subscribe(where)

    def unsubscribe(self, subscription: Subscription) -> None:
        self._local.unsubscribe(subscription)

    @property
    def subscriber_count(self) -> int:
        return self._local.subscriber_count

    def since(self, where: Filter, last_event_id: str) -> list[Event]:
        return self._local.since(where, last_event_id)

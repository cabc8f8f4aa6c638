"""Publish/subscribe of events, with a bounded replay buffer for `Last-Event-ID` resumes.

Events are dotted `resource.verb` with one envelope everywhere:
`{"id", "type", "created_at", "data"}`. Each belongs to one organization and is delivered
only to that organization's subscribers. Ids are UUIDv7 strings, so they sort by time and a
resume can find its place.

`MemoryEventBus` serves one process. `RedisEventBus` (events/redis_bus.py) shares events
between processes through Redis.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from upwatch.core.clock import isoformat_z
from upwatch.core.ids import uuid7
from upwatch.core.waiting import result_within

REPLAY_BUFFER = 10_000
SUBSCRIBER_QUEUE = 1_000


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    organization_id: int
    created_at: datetime
    data: dict[str, Any]
    resource_id: str | None = None  # the monitor's (or heartbeat's...) public id, for filters
    id: str = field(default_factory=lambda: str(uuid7()))

    def envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "created_at": isoformat_z(self.created_at),
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class Filter:
    organization_id: int
    types: Collection[str] = ()  # empty: every type; "monitor.*" matches a prefix
    resource_ids: Collection[str] = ()  # empty: every resource

    def matches(self, event: Event) -> bool:
        if event.organization_id != self.organization_id:
            return False
        if self.resource_ids and event.resource_id not in self.resource_ids:
            return False
        return not self.types or any(_type_matches(pattern, event.type) for pattern in self.types)


def _type_matches(pattern: str, event_type: str) -> bool:
    if pattern in {"*", event_type}:
        return True
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


class Subscription:
    """Events for one listener, in order. A listener that falls more than SUBSCRIBER_QUEUE
    events behind is cut off (`overflowed`) rather than slowing everyone down."""

    def __init__(self, where: Filter) -> None:
        self.filter = where
        self._queue: asyncio.Queue[Event] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self.overflowed = False

    def offer(self, event: Event) -> None:
        if self.overflowed or not self.filter.matches(event):
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True

    async def next(self, wait_seconds: float) -> Event | None:
        """The next event, or None if none came within `wait_seconds`."""
        return await result_within(self._queue.get(), wait_seconds)


class EventBus(Protocol):
    async def publish(self, events: Collection[Event]) -> None: ...

    def subscribe(self, where: Filter) -> Subscription: ...

    def unsubscribe(self, subscription: Subscription) -> None: ...

    def since(self, where: Filter, last_event_id: str) -> list[Event]: ...

    @property
    def subscriber_count(self) -> int: ...


class MemoryEventBus:
    def __init__(self, buffer_size: int = REPLAY_BUFFER) -> None:
        self._recent: deque[Event] = deque(maxlen=buffer_size)
        self._subscriptions: set[Subscription] = set()

    async def publish(self, events: Collection[Event]) -> None:
        self.deliver(events)

    def deliver(self, events: Collection[Event]) -> None:
        for event in events:
            self._recent.append(event)
            for subscription in self._subscriptions:
                subscription.offer(event)

    def subscribe(self, where: Filter) -> Subscription:
        subscription = Subscription(where)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def since(self, where: Filter, last_event_id: str) -> list[Event]:
        """Buffered events after `last_event_id` (ids sort by time) that match."""
        return [e for e in self._recent if e.id > last_event_id and where.matches(e)]

"""The event bus: state changes and check results fan out to SSE, WebSocket and webhooks."""

from upwatch.events.bus import Event, EventBus, MemoryEventBus, Subscription

__all__ = ["Event", "EventBus", "MemoryEventBus", "Subscription"]

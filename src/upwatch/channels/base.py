"""What every channel kind is: the `Notifier` protocol, the message it is handed (`Letter`),
and the two ways a send can fail.

A send either returns a `Receipt` or raises:

    DeliveryError
      ├── PermanentDeliveryError   config refused, 4xx other than 408/425/429, an address the
      │                            SSRF guard refused, SMTP 5xx: trying again cannot help
      └── TransientDeliveryError   network error, timeout, 5xx, 408/425/429, SMTP 4xx: the
                                   dispatcher retries it with its backoff

`attempt` turns one send into the `Delivery` the dispatcher records (duration, status code,
error), so the classification lives in the kinds and the bookkeeping in one place.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import BaseModel, StringConstraints

from upwatch.channels.render import Message, Renderer
from upwatch.settings import Settings

ERROR_LIMIT = 1000
Rendered = TypeVar("Rendered")


class DeliveryError(Exception):
    """A send that did not deliver; `status_code` is the destination's answer, if any."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message[:ERROR_LIMIT])
        self.status_code = status_code


class PermanentDeliveryError(DeliveryError):
    """Trying again cannot help: the notification fails now."""


class TransientDeliveryError(DeliveryError):
    """Trying again may help: the notification is retried later."""


class ConfigRefusedError(ValueError):
    """A config that passed its schema but names no usable destination (`field` says which
    part; `code` is the API's field error code)."""

    def __init__(self, field: str, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivered send."""

    status_code: int | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt as the delivery log records it."""

    ok: bool
    duration_ms: float
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False


@dataclass(frozen=True, slots=True)
class Letter:
    """One notification to render: the template context (its `envelope` is the event as
    webhooks carry it), and what a signed kind needs."""

    context: dict[str, Any]
    event_type: str
    delivery_id: str
    renderer: Renderer
    signing_secret: str | None = None

    def message(self) -> Message:
        """The subject and bodies from the templates (operator overrides included)."""
        return self.renderer.render(self.context)


class Notifier(Protocol[Rendered]):
    """One channel kind. Implementations live one per module; `registry.NOTIFIERS` lists them."""

    @property
    def kind(self) -> str:
        """The `kind` of the API and the database."""
        ...

    @property
    def config_model(self) -> type[BaseModel]:
        """The config's schema (a `Strict` model)."""
        ...

    @property
    def secret_fields(self) -> tuple[str, ...]:
        """Config fields never shown by ordinary reads (a `has_<field>` flag says they are set)."""
        ...

    @property
    def destination_field(self) -> str:
        """The config field named when the SSRF guard refuses the destination."""
        ...

    @property
    def signed(self) -> bool:
        """Whether the organization's webhook secret signs what it sends (it is then given
        as `Letter.signing_secret`)."""
        ...

    def check(self, config: dict[str, Any]) -> str | None:
        """Validation beyond the schema (ConfigRefusedError); the host the SSRF guard must
        pass when the channel is saved, if the kind lets users choose one."""
        ...

    def render(self, letter: Letter) -> Rendered:
        """What this kind sends for `letter` (built before the send, inside no transaction)."""
        ...

    async def send(self, config: dict[str, Any], rendered: Rendered, settings: Settings) -> Receipt:
        """Deliver once; raises PermanentDeliveryError or TransientDeliveryError."""
        ...


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def attempt(send: Callable[[], Awaitable[Receipt]]) -> Delivery:
    """Run one send and describe it for the delivery log."""
    started = time.perf_counter()
    try:
        receipt = await send()
    except DeliveryError as exc:
        permanent = isinstance(exc, PermanentDeliveryError)
        return Delivery(
            False, elapsed_ms(started), status_code=exc.status_code, error=str(exc),
            permanent=permanent,
        )  # fmt: skip
    return Delivery(True, elapsed_ms(started), status_code=receipt.status_code)


#: A secret config value (a token, a key, a URL holding one).
Secret = Annotated[str, StringConstraints(min_length=1, max_length=2048)]

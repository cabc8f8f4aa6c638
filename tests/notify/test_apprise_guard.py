"""The SSRF guard on every connection Apprise makes, against real servers on loopback.

Whatever the scheme (generic JSON, Home Assistant, email, Mastodon, ...), a notification
sent with only public destinations allowed never connects to a loopback address: not
directly, not by a name that resolves there, not through a redirect. With
`allow_private_destinations` the same URLs do connect, which shows each plugin really tries.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.engine import eventually
from tests.support.http_target import serving_http
from tests.support.sockets import TcpServer, serving_tcp
from upwatch.channels import apprise_transport
from upwatch.channels.apprise_transport import describe
from upwatch.channels.base import Delivery, attempt
from upwatch.channels.render import Message
from upwatch.net import socket_guard
from upwatch.net.guard import AddressNotAllowedError
from upwatch.net.socket_guard import public_only_connections


async def send_apprise(url: str, message: Message, *, public_only: bool) -> Delivery:
    """One Apprise send, as the dispatcher records it (delivered, or why not and whether
    trying again could help)."""
    return await attempt(lambda: apprise_transport.send(url, message, public_only=public_only))


MESSAGE = Message(subject="Down", text="down", markdown="down", html="<p>down</p>")
REFUSED = "only public addresses are allowed"

# The schemes of the issue (and the generic one), each pointed at {host}:{port}.
URLS = [
    "json://{host}:{port}/hook",
    "hassio://{host}:{port}/accesstoken",
    "mailto://{host}:{port}?user=u&pass=p&to=a@example.com&from=b@example.com",
    "toot://token@{host}:{port}",
    "misskey://token@{host}:{port}",
    "bark://{host}:{port}/device",
    "synology://{host}:{port}/token",
    "emby://user@{host}:{port}",
    "pushdeer://{host}:{port}/pushkey",
    "parsep://app_id:master_key@{host}:{port}",
    "lametric://apikey@{host}:{port}/?mode=device",
    "enigma2://{host}:{port}",
    "jellyfin://user@{host}:{port}",
    "notica://{host}:{port}/token",
    "workflow://{host}:{port}/workflow1/signature",
    "irc://{host}:{port}/#upwatch",
]
# Loopback as an address and as a name. (Apprise cannot parse IPv6 literals in URLs; the
# socket-level tests below cover ::1 and IPv4-mapped addresses.)
HOSTS = ["127.0.0.1", "localhost"]


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read a little, answer an empty JSON 200: enough for any plugin to finish."""
    try:
        async with asyncio.timeout(2):
            await reader.read(4096)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        await writer.drain()
    except (TimeoutError, ConnectionError):
        pass  # SMTP and others wait for a greeting; the connection is what is counted


async def _connections(server: TcpServer) -> int | None:
    return server.accepted or None


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("template", URLS)
async def test_apprise_never_connects_to_loopback_when_only_public_addresses_are_allowed(
    template: str, host: str
) -> None:
    async with serving_tcp(_answer) as server:
        delivery = await send_apprise(
            template.format(host=host, port=server.port), MESSAGE, public_only=True
        )
        assert server.accepted == 0

    assert (delivery.ok, delivery.permanent) == (False, True)
    assert delivery.error is not None
    assert REFUSED in delivery.error


@pytest.mark.parametrize("template", URLS)
async def test_with_private_destinations_allowed_the_same_urls_do_connect(template: str) -> None:
    async with serving_tcp(_answer) as server:
        delivery = await send_apprise(
            template.format(host="127.0.0.1", port=server.port), MESSAGE, public_only=False
        )
        assert await eventually(lambda: _connections(server)) >= 1
    assert delivery.error is None or REFUSED not in delivery.error


@pytest.fixture
def public_status_host(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`status.example.com`, resolving to 127.0.0.2, which the guard takes for a public
    address: the stand-in for a public server (no traffic may leave this machine)."""
    name, address = "status.example.com", "127.0.0.2"
    real_getaddrinfo = socket.getaddrinfo
    real_is_public = socket_guard.is_public_address

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real_getaddrinfo(address if host == name else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(
        socket_guard, "is_public_address", lambda host: host == address or real_is_public(host)
    )
    return name


async def test_a_redirect_from_a_public_host_to_loopback_is_refused(
    public_status_host: str,
) -> None:
    async with serving_http(host="127.0.0.2") as public, serving_tcp(_answer) as local:
        target = f"http://127.0.0.1:{local.port}/hook"
        delivery = await send_apprise(
            f"json://{public_status_host}:{public.port}/to?-url={target}",
            MESSAGE,
            public_only=True,
        )
        assert local.accepted == 0

    assert public.hits["/to"] == 1  # the public hop itself was allowed
    assert (delivery.ok, delivery.permanent) == (False, True)
    assert delivery.error is not None
    assert "127.0.0.1" in delivery.error


async def test_a_public_host_is_delivered_to(public_status_host: str) -> None:
    async with serving_http(host="127.0.0.2") as public:
        delivery = await send_apprise(
            f"json://{public_status_host}:{public.port}/ok", MESSAGE, public_only=True
        )

    assert delivery.ok, delivery.error
    assert public.hits["/ok"] == 1


@pytest.mark.parametrize(
    ("family", "address"),
    [
        (socket.AF_INET, ("127.0.0.1", 9)),
        (socket.AF_INET, ("10.1.2.3", 9)),
        (socket.AF_INET6, ("::1", 9)),
        (socket.AF_INET6, ("::ffff:127.0.0.1", 9)),
        (socket.AF_INET6, ("fe80::1", 9)),
        (socket.AF_INET, ("localhost", 9)),
    ],
)
def test_a_guarded_socket_refuses_private_addresses_and_names(
    family: socket.AddressFamily, address: tuple[str, int]
) -> None:
    with public_only_connections() as refusals, socket.socket(family, socket.SOCK_DGRAM) as udp:
        with pytest.raises(AddressNotAllowedError, match=REFUSED):
            udp.sendto(b"x", address)
        with socket.socket(family) as tcp, pytest.raises(AddressNotAllowedError, match=REFUSED):
            tcp.connect(address)
    assert len(refusals.errors) == 2


def test_a_guarded_block_never_reaches_other_threads() -> None:
    """The engine, the database and Redis keep connecting to loopback while a notification
    is being sent under the guard in another thread."""
    inside, checked = threading.Event(), threading.Event()
    outcome: list[str] = []

    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def guarded_send() -> None:
            with public_only_connections():
                inside.set()
                checked.wait(10)
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=5).close()
                    outcome.append("connected")
                except AddressNotAllowedError:
                    outcome.append("refused")
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            outcome.append("connected after the block")

        sender = threading.Thread(target=guarded_send)
        sender.start()
        assert inside.wait(10)
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # not refused
        checked.set()
        sender.join(10)

    assert outcome == ["refused", "connected after the block"]


@pytest.mark.parametrize("url", ["xmpp://user:pass@example.com", "mqtt://example.com/topic"])
def test_plugins_that_would_connect_from_threads_of_their_own_are_not_available(url: str) -> None:
    """XMPP and MQTT clients connect from threads they start themselves, which do not
    inherit the guard's context: their packages are not installed, so Apprise refuses them.
    Installing them (this test then fails) needs the guard to follow those threads."""
    assert describe(url) == (False, None)

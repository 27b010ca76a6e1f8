"""Connections to stream receivers, each made to an address the guard checked.

httpx resolves names inside httpcore's network backend; ours wraps the default (AnyIO) one
and connects to the checked address instead, while httpcore still hands TLS the URL's host
name, so SNI and the certificate check are for the name the stream was given. Redirects are
not followed, proxies from the environment are not used, and every send is bounded as a
whole (connect_timeout + send_timeout) besides httpx's per-operation timeouts: a receiver
that drips its answer a byte at a time cannot hold a delivery worker longer than that.
"""

import asyncio
import ipaddress
import ssl
import typing
from collections.abc import Iterable
from pathlib import Path

import httpcore
import httpx

from adapters.outbound.streams.addresses import (
    AddressGuard,
    IPAddress,
    Resolver,
    Unreachable,
    system_resolver,
)
from adapters.outbound.streams.responses import from_error, from_status
from application.streams.ports import NotSent, SendResult, Sent
from domain.streams import Destination

MAX_ANSWER_BYTES = 4096
"""Read of an answer's body only so the connection can be reused; never kept or logged."""
_KEEPALIVE_SECONDS = 30.0


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, guard: AddressGuard, *, listed_only: bool) -> None:
        self._guard = guard
        self._listed_only = listed_only
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._guard.addresses(host, port, listed_only=self._listed_only)
        return await _first_to_answer(
            addresses,
            lambda address: self._inner.connect_tcp(
                str(address), port, timeout, local_address, socket_options
            ),
            httpcore.ConnectError,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Unreachable("ADDRESS_NOT_ALLOWED")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


T = typing.TypeVar("T")


async def _first_to_answer(
    addresses: list[IPAddress],
    connect: typing.Callable[[IPAddress], typing.Awaitable[T]],
    retried: type[BaseException] | tuple[type[BaseException], ...],
) -> T:
    """Each checked address in turn, as getaddrinfo ordered them; the last error if none."""
    for address in addresses[:-1]:
        try:
            return await connect(address)
        except retried:
            continue
    return await connect(addresses[-1])


class _PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, backend: _PinnedBackend, context: ssl.SSLContext) -> None:
        super().__init__(verify=context, trust_env=False)
        # httpx takes no network backend, httpcore's pool does: the pool httpx would build,
        # with connections made through the guard.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=None,
            max_keepalive_connections=20,
            keepalive_expiry=_KEEPALIVE_SECONDS,
            network_backend=backend,
        )


class StreamNetwork:
    """The guard and the connections of every stream sender; `aclose` when done."""

    def __init__(
        self,
        allowed_private: Iterable[IPAddress | str],
        connect_timeout: float = 5.0,
        send_timeout: float = 15.0,
        ca_file: Path | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.guard = AddressGuard(
            frozenset(ipaddress.ip_address(address) for address in allowed_private), resolver
        )
        self.connect_timeout = connect_timeout
        self.send_timeout = send_timeout
        self.deadline = connect_timeout + send_timeout
        self.tls = httpx.create_ssl_context(trust_env=False)
        if ca_file is not None:
            self.tls.load_verify_locations(cafile=str(ca_file))
        self._clients = {
            listed_only: httpx.AsyncClient(
                transport=_PinnedTransport(
                    _PinnedBackend(self.guard, listed_only=listed_only), self.tls
                ),
                timeout=httpx.Timeout(send_timeout, connect=connect_timeout),
                follow_redirects=False,
                trust_env=False,
            )
            for listed_only in (False, True)
        }

    async def post(
        self, destination: Destination, headers: dict[str, str], body: bytes
    ) -> SendResult:
        """POST `body` to the destination's URL; plain http:// only to listed addresses."""
        client = self._clients[destination.scheme == "http"]
        result: SendResult | None = None
        try:
            async with asyncio.timeout(self.deadline):
                request = client.stream("POST", destination.url, headers=headers, content=body)
                async with request as response:
                    # The verdict is the status: the body is read (a little) only so the
                    # connection can serve the next batch.
                    result = from_status(response.status_code, response.headers)
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read > MAX_ANSWER_BYTES:
                            break
        except Unreachable as refused:
            return NotSent(refused.code)
        except (TimeoutError, httpx.HTTPError) as error:
            # Once the status is in, what fails after it (reading the rest) changes nothing.
            return result if result is not None else from_error(error)
        assert result is not None
        return result

    async def write_all(self, destination: Destination, payload: bytes) -> SendResult:
        """Open a TCP (or TLS) connection, write `payload`, see it leave, close. Over plain
        TCP, Sent only once the receiver has read it all: the write side is shut after the
        payload and the receiver's own close awaited (within the deadline); a collector
        that died with the batch unread answers with a reset, and the batch goes again.
        Over TLS (which cannot half-close), Sent once every byte was handed to the
        connection."""
        try:
            async with asyncio.timeout(self.deadline):
                addresses = await self.guard.addresses(destination.host, destination.port)
                async with asyncio.timeout(self.connect_timeout):
                    reader, writer = await _first_to_answer(
                        addresses,
                        lambda address: asyncio.open_connection(
                            str(address),
                            destination.port,
                            ssl=self.tls if destination.tls else None,
                            server_hostname=destination.host if destination.tls else None,
                        ),
                        OSError,
                    )
                try:
                    # No buffer kept back: drain returns once every byte has left.
                    writer.transport.set_write_buffer_limits(high=0)
                    writer.write(payload)
                    await writer.drain()
                    if not destination.tls:
                        # The receiver closes once it has read our end of file, so after
                        # everything before it: read, not only in its socket's buffer.
                        writer.write_eof()
                        # A collector answers nothing: what one says is dropped, and past
                        # MAX_ANSWER_BYTES it is not read on (a send costs what it sends).
                        answered = 0
                        while answered <= MAX_ANSWER_BYTES and (said := await reader.read(4096)):
                            answered += len(said)
                finally:
                    writer.close()
                await writer.wait_closed()
        except Unreachable as refused:
            return NotSent(refused.code)
        except (TimeoutError, OSError) as error:
            return from_error(error)
        return Sent()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()

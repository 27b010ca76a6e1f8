"""What a stream may connect to, and what a hostile or failing receiver can do to a send."""

import asyncio
import ipaddress
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from starlette.responses import RedirectResponse, Response, StreamingResponse

from adapters.outbound.streams.addresses import AddressGuard, system_resolver
from application.streams.ports import Credentials, NotSent, Sent
from domain.streams import StreamKind
from tests.adapters.streams.conftest import FakeResolver
from tests.adapters.streams.receivers import (
    SECRET,
    Receiver,
    batch,
    free_port,
    serving,
    silent_server,
    stream,
)

SIGNED = Credentials(secrets=(SECRET,))


async def post(make_senders, url: str, **options):
    sender = make_senders(**options).by_kind[StreamKind.WEBHOOK]
    return await sender.send(stream(StreamKind.WEBHOOK, url), batch(), SIGNED)


async def test_loopback_is_refused_unless_listed(make_senders):
    receiver = Receiver()
    with serving(receiver) as port:
        url = f"http://127.0.0.1:{port}/"
        refused = await post(make_senders, url, allowed_private=frozenset())
        assert refused == NotSent("ADDRESS_NOT_ALLOWED")
        assert receiver.requests == []
        assert await post(make_senders, url) == Sent()
    assert len(receiver.requests) == 1


async def test_a_name_resolving_to_a_private_address_is_refused(make_senders):
    receiver = Receiver()
    resolver = FakeResolver({"hooks.example.com": [["8.8.8.8", "127.0.0.1"]]})
    with serving(receiver) as port:
        url = f"https://hooks.example.com:{port}/"
        result = await post(make_senders, url, allowed_private=frozenset(), resolver=resolver)
    assert result == NotSent("ADDRESS_NOT_ALLOWED")
    assert receiver.requests == []


async def test_a_name_that_does_not_resolve_is_dns_failed(make_senders):
    result = await post(make_senders, "https://nowhere.example.com/", resolver=FakeResolver({}))
    assert result == NotSent("DNS_FAILED")


@pytest.mark.parametrize(
    "address",
    ["::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::1", "64:ff9b::a00:1", "::7f00:1",
     "64:ff9b:1::1", "fe80::1", "fc00::1", "169.254.169.254", "100.64.0.1", "224.0.0.1",
     "0.0.0.0", "ff0e::1"],  # noqa: S104 (an address judged, not bound)
)  # fmt: skip
def test_private_addresses_in_any_form_are_refused(address):
    guard = AddressGuard(frozenset(), system_resolver)
    assert not guard.allowed(ipaddress.ip_address(address))


def test_public_addresses_and_their_ipv6_forms_are_allowed():
    guard = AddressGuard(frozenset(), system_resolver)
    for address in ("8.8.8.8", "::ffff:8.8.8.8", "2001:4860:4860::8888", "64:ff9b::808:808"):
        assert guard.allowed(ipaddress.ip_address(address)), address


async def test_an_ipv4_mapped_loopback_destination_is_refused(make_senders):
    result = await post(make_senders, "http://[::ffff:127.0.0.2]:9/", allowed_private=frozenset())
    assert result == NotSent("ADDRESS_NOT_ALLOWED")


async def test_the_connection_goes_to_the_address_that_was_checked(make_senders):
    """DNS rebinding: the name answers 127.0.0.1 (listed) once, then 127.0.0.2 (not)."""
    checked, rebound = Receiver(), Receiver()
    with serving(checked) as port, serving(rebound, host="127.0.0.2"):
        resolver = FakeResolver({"rebind.test": [["127.0.0.1"], ["127.0.0.2"]]})
        first = await post(make_senders, f"http://rebind.test:{port}/", resolver=resolver)
        assert first == Sent()
        assert resolver.asked == ["rebind.test"]
        # A new connection asks again, and is refused: nothing reaches 127.0.0.2.
        second = await post(make_senders, f"http://rebind.test:{port}/", resolver=resolver)
    assert second == NotSent("ADDRESS_NOT_ALLOWED")
    assert len(checked.requests) == 1
    assert rebound.requests == []


async def test_plain_http_goes_only_to_listed_addresses(make_senders):
    resolver = FakeResolver({"hooks.example.com": [["8.8.8.8"]]})
    result = await post(make_senders, "http://hooks.example.com/", resolver=resolver)
    assert result == NotSent("ADDRESS_NOT_ALLOWED")


async def test_a_redirect_is_not_followed(make_senders):
    target = Receiver()
    with serving(target) as target_port:
        redirect = Receiver(
            answer=lambda _: RedirectResponse(f"http://127.0.0.1:{target_port}/", status_code=302)
        )
        with serving(redirect) as port:
            result = await post(make_senders, f"http://127.0.0.1:{port}/")
    assert result == NotSent("REDIRECT_REFUSED")
    assert len(redirect.requests) == 1
    assert target.requests == []


async def test_a_receiver_that_never_answers_times_out_within_the_deadline(make_senders):
    async with silent_server() as (port, connections):
        started = time.monotonic()
        result = await post(
            make_senders, f"http://127.0.0.1:{port}/", connect_timeout=0.5, send_timeout=0.5
        )
        elapsed = time.monotonic() - started
    assert result == NotSent("TIMEOUT")
    assert connections
    assert elapsed < 1.5


async def test_a_receiver_dripping_its_answer_is_cut_at_the_send_deadline(make_senders):
    async with silent_server(drip=True) as (port, _):
        started = time.monotonic()
        result = await post(
            make_senders, f"http://127.0.0.1:{port}/", connect_timeout=0.5, send_timeout=0.5
        )
        elapsed = time.monotonic() - started
    assert result == NotSent("TIMEOUT")
    assert elapsed < 1.5


async def test_a_refused_connection_is_connect_failed(make_senders):
    result = await post(make_senders, f"http://127.0.0.1:{free_port()}/")
    assert result == NotSent("CONNECT_FAILED")


def answering(status: int, **headers: str) -> Receiver:
    return Receiver(answer=lambda _: Response("secret body", status_code=status, headers=headers))


@pytest.mark.parametrize(
    ("receiver", "expected"),
    [
        (answering(410), NotSent("HTTP_410", gone=True)),
        (answering(503), NotSent("HTTP_503")),
        (answering(500, **{"retry-after": "soon"}), NotSent("HTTP_500")),
        (answering(429, **{"retry-after": "120"}), NotSent("HTTP_429", retry_after=120.0)),
        (answering(503, **{"retry-after": "99999"}), NotSent("HTTP_503", retry_after=3600.0)),
        (answering(400), NotSent("HTTP_400")),
    ],
    ids=["gone", "unavailable", "garbage-retry-after", "429-seconds", "bounded", "bad-request"],
)
async def test_a_receivers_status_becomes_a_code(make_senders, receiver, expected):
    with serving(receiver) as port:
        assert await post(make_senders, f"http://127.0.0.1:{port}/?token=hidden") == expected


async def test_retry_after_as_an_http_date_is_the_wait_until_then(make_senders):
    then = format_datetime(datetime.now(UTC) + timedelta(seconds=300), usegmt=True)
    with serving(answering(429, **{"retry-after": then})) as port:
        result = await post(make_senders, f"http://127.0.0.1:{port}/")
    assert isinstance(result, NotSent)
    assert result.code == "HTTP_429"
    assert result.retry_after is not None
    assert 290 <= result.retry_after <= 300


async def test_an_endless_answer_is_read_only_a_few_kib(make_senders):
    async def endless():
        while True:
            yield b"x" * 1024
            await asyncio.sleep(0.01)

    receiver = Receiver(answer=lambda _: StreamingResponse(endless(), status_code=200))
    with serving(receiver) as port:
        started = time.monotonic()
        result = await post(make_senders, f"http://127.0.0.1:{port}/", send_timeout=3.0)
        elapsed = time.monotonic() - started
    assert result == Sent()
    assert elapsed < 1.0

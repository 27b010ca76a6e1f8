"""HTTPS to a receiver by name: the connection is pinned to the checked address, and TLS is
still checked against the name in the URL (SNI and certificate), trusting the test CA."""

from pathlib import Path

import pytest

from application.streams.ports import Credentials, NotSent, Sent
from domain.streams import StreamKind
from tests.adapters.streams.conftest import FakeResolver
from tests.adapters.streams.receivers import SECRET, Receiver, batch, serving, stream
from tests.adapters.streams.rsyslog import IssuedCA, make_ca

RESOLVER = {"hooks.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]}


@pytest.fixture
def ca(tmp_path: Path) -> IssuedCA:
    return make_ca(tmp_path, ("hooks.test",), ())


async def post(make_senders, url: str, **options):
    sender = make_senders(resolver=FakeResolver(RESOLVER), **options).by_kind[StreamKind.WEBHOOK]
    return await sender.send(stream(StreamKind.WEBHOOK, url), batch(), Credentials((SECRET,)))


async def test_https_to_a_name_is_verified_against_that_name(make_senders, ca):
    receiver = Receiver()
    with serving(receiver, tls=(ca.cert_file, ca.key_file)) as port:
        result = await post(make_senders, f"https://hooks.test:{port}/", ca_file=ca.ca_file)
    assert result == Sent()
    assert len(receiver.requests) == 1


async def test_a_certificate_for_another_name_is_tls_failed(make_senders, ca):
    receiver = Receiver()
    with serving(receiver, tls=(ca.cert_file, ca.key_file)) as port:
        result = await post(make_senders, f"https://other.test:{port}/", ca_file=ca.ca_file)
    assert result == NotSent("TLS_FAILED")
    assert receiver.requests == []


async def test_a_certificate_from_an_untrusted_ca_is_tls_failed(make_senders, ca):
    receiver = Receiver()
    with serving(receiver, tls=(ca.cert_file, ca.key_file)) as port:
        result = await post(make_senders, f"https://hooks.test:{port}/")
    assert result == NotSent("TLS_FAILED")
    assert receiver.requests == []

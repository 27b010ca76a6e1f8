"""What `auditlog-verify --witness` reads of a witness (the witness's app in process): its
last checkpoint and an account's head with when it saw them, and, given its key, only
answers its cosignatures verify."""

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from adapters.inbound.http.witness import witness_app
from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from adapters.outbound.witness_client import HttpWitness, witness_http_client
from adapters.outbound.witness_receipts import WitnessKey, ask
from application.integrity.countersigning import Countersigning
from application.integrity.witnessing import WitnessUnavailable
from tests.contracts.checkpoints import chain, head
from tests.contracts.seals import KEYS
from tests.fakes import FakeClock
from tests.witnesses import InMemoryWitnessLedger

URL = "http://127.0.0.1:8700"
CHAIN = chain((head("acme", 0),), (head("acme", 1),), (head("globex", 2),))
SIGNER = Ed25519SealKeys(new_signing_key())
KEY = WitnessKey(SIGNER.public_keys[0].jwk()["x"])
Edit = Callable[[str, dict[str, Any]], None]


@pytest.fixture
async def app() -> httpx.ASGITransport:
    """A witness that accepted CHAIN."""
    countersigning = Countersigning(
        ledger=InMemoryWitnessLedger(), service_keys=KEYS, signer=SIGNER, clock=FakeClock()
    )
    transport = httpx.ASGITransport(app=witness_app(countersigning, witness_key="k"))
    async with witness_http_client(transport) as client:
        for checkpoint in CHAIN:
            assert (await HttpWitness(URL, client).submit(checkpoint)).accepted
    return transport


@pytest.fixture
def edited(app: httpx.ASGITransport) -> Callable[[Edit], Awaitable[httpx.MockTransport]]:
    """A transport answering as the witness, each answer's body edited by `edit(path, body)`."""

    async def make(edit: Edit) -> httpx.MockTransport:
        answers = {}
        async with httpx.AsyncClient(transport=app) as client:
            for path in ("/checkpoints/latest", "/heads/acme"):
                answers[path] = (await client.get(URL + path)).json()

        def answer(request: httpx.Request) -> httpx.Response:
            body = dict(answers[request.url.path])
            edit(request.url.path, body)
            return httpx.Response(200, json=body)

        return httpx.MockTransport(answer)

    return make


async def test_it_reads_the_checkpoint_and_head_the_witness_cosigned(
    app: httpx.ASGITransport,
) -> None:
    witnessed, seen = await ask(URL, "acme", KEY, app)

    assert witnessed is not None
    assert seen is not None
    assert witnessed.checkpoint.hash() == CHAIN[2].hash()
    assert (seen.head.seal_id, seen.sequence) == (CHAIN[1].sealed[0].seal_id, 2)
    assert seen.witnessed_at <= witnessed.witnessed_at


async def test_without_its_key_nothing_is_checked(
    edited: Callable[[Edit], Awaitable[httpx.MockTransport]],
) -> None:
    def forge(path: str, body: dict[str, Any]) -> None:
        body["cosignature"] = "forged"

    witnessed, seen = await ask(URL, "acme", None, await edited(forge))
    assert witnessed is not None
    assert seen is not None


async def test_another_witness_key_does_not_verify_its_checkpoint(
    app: httpx.ASGITransport,
) -> None:
    other = WitnessKey(Ed25519SealKeys(new_signing_key()).public_keys[0].jwk()["x"])
    with pytest.raises(WitnessUnavailable, match="of its latest checkpoint does not verify"):
        await ask(URL, "acme", other, app)


@pytest.mark.parametrize(
    ("path", "name", "value", "error"),
    [
        ("/heads/acme", "cosignature", "forged", "of the head of acme does not verify"),
        ("/heads/acme", "seal_hash", "0" * 64, "of the head of acme does not verify"),
        ("/heads/acme", "witnessed_at", "2026-01-01T00:00:00.000Z", "head of acme"),
        ("/checkpoints/latest", "witnessed_at", "2026-01-01T00:00:00.000Z", "latest checkpoint"),
        ("/checkpoints/latest", "sequence", 2, "unknown form"),
        ("/checkpoints/latest", "witnessed_at", "yesterday", "unknown form"),
        ("/checkpoints/latest", "witnessed_at", "2026-01-01T00:00:00", "unknown form"),
        ("/heads/acme", "cosignature", None, "unknown form"),
    ],
)
async def test_an_answer_its_cosignature_does_not_cover_is_refused(
    edited: Callable[[Edit], Awaitable[httpx.MockTransport]],
    path: str,
    name: str,
    value: object,
    error: str,
) -> None:
    def edit(at: str, body: dict[str, Any]) -> None:
        if at == path:
            body[name] = value

    with pytest.raises(WitnessUnavailable, match=error):
        await ask(URL, "acme", KEY, await edited(edit))


@pytest.mark.parametrize("text", ["", "not a key!", base64.urlsafe_b64encode(bytes(31)).decode()])
def test_a_witness_key_is_a_base64url_ed25519_public_key(text: str) -> None:
    with pytest.raises(ValueError, match="not a base64url Ed25519 public key"):
        WitnessKey(text)

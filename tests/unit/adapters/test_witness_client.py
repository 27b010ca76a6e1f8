"""The HTTP witness client against the witness's app in process, and against witnesses that
answer what they should not: a redirect, too much, an unknown form, nothing in time."""

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.inbound.http.witness import witness_app
from adapters.outbound import witness_client
from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from adapters.outbound.witness_client import HttpWitness, witness_http_client
from application.integrity.countersigning import Countersigning
from application.integrity.witnessing import Answer, WitnessUnavailable
from tests.contracts.checkpoints import chain, head
from tests.contracts.seals import KEYS
from tests.fakes import FakeClock
from tests.witnesses import InMemoryWitnessLedger

CHAIN = chain((head("acme", 0),), (head("acme", 1),), (head("acme", 2),))


@pytest.fixture
async def witness() -> AsyncIterator[HttpWitness]:
    countersigning = Countersigning(
        ledger=InMemoryWitnessLedger(),
        service_keys=KEYS,
        signer=Ed25519SealKeys(new_signing_key()),
        clock=FakeClock(),
    )
    app = witness_app(countersigning, witness_key="k")
    async with witness_http_client(httpx.ASGITransport(app=app)) as client:
        yield HttpWitness("http://127.0.0.1:8700/", client)


async def test_the_client_reads_the_witnesses_answers(witness: HttpWitness) -> None:
    assert witness.name == "http://127.0.0.1:8700"
    assert await witness.latest() is None
    assert await witness.submit(CHAIN[0]) == Answer(accepted=True)
    assert await witness.submit(CHAIN[0]) == Answer(accepted=True)
    assert await witness.submit(CHAIN[2]) == Answer(error="GAP", expected=2)
    assert await witness.latest() == (1, CHAIN[0].hash())
    other = chain((head("globex", 0),), (head("globex", 1),))
    assert await witness.submit(other[0]) == Answer(error="FORK")
    assert await witness.submit(other[1]) == Answer(error="REWIND")


def answering(handler: httpx.MockTransport) -> HttpWitness:
    return HttpWitness("https://witness.example", witness_http_client(handler))


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(302, headers={"location": "https://elsewhere.example/checkpoints"}),
        httpx.Response(200, json={"sequence": True, "checkpoint_hash": "x"}),
        httpx.Response(200, content=b"[" * 100_000),
        # What it would take, but for its size.
        httpx.Response(
            200,
            content=b" " * witness_client.MAX_ANSWER_BYTES
            + json.dumps({"sequence": 1, "checkpoint_hash": "0" * 64, "error": "GAP"}).encode(),
        ),
        httpx.Response(500, text="Traceback ... s3cret"),
    ],
    ids=["redirect", "unknown form", "too deep", "too much", "error"],
)
async def test_an_answer_it_cannot_read_makes_the_witness_unavailable(
    response: httpx.Response,
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return response

    witness = answering(httpx.MockTransport(handler))

    with pytest.raises(WitnessUnavailable) as raised:
        await witness.latest()
    with pytest.raises(WitnessUnavailable):
        await witness.submit(CHAIN[0])
    assert "s3cret" not in str(raised.value)
    assert all(url.startswith("https://witness.example/") for url in seen)


async def test_a_gap_without_expected_is_not_believed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(409, json={"error": "GAP"})

    with pytest.raises(WitnessUnavailable, match="GAP without"):
        await answering(httpx.MockTransport(handler)).submit(CHAIN[0])


async def test_a_witness_that_does_not_answer_in_time_is_given_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(witness_client, "REQUEST_TIMEOUT_SECONDS", 0.05)

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(404)

    with pytest.raises(WitnessUnavailable, match="timed out"):
        await answering(httpx.MockTransport(handler)).latest()


async def test_the_client_reads_what_the_witness_holds_for_the_verifier(
    witness: HttpWitness,
) -> None:
    assert await witness.checkpoint() is None
    assert await witness.head("acme") is None
    for checkpoint in CHAIN[:2]:
        assert await witness.submit(checkpoint) == Answer(accepted=True)
    assert await witness.checkpoint() == CHAIN[1]
    assert await witness.head("acme") == CHAIN[1].sealed[0]
    assert await witness.head("globex") is None


@pytest.mark.parametrize(
    "body",
    [
        {"checkpoint": {"checkpoint": 1}},
        {"checkpoint": "not an object"},
        {"account": "acme"},
    ],
)
async def test_what_the_verifier_cannot_read_is_unavailable(body: dict[str, object]) -> None:
    witness = answering(httpx.MockTransport(lambda request: httpx.Response(200, json=body)))
    with pytest.raises(WitnessUnavailable):
        await witness.checkpoint()
    with pytest.raises(WitnessUnavailable):
        await witness.head("acme")

"""The witness's HTTP API in process: receipts that verify, refusals as codes, and bodies
read strictly and within bounds."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from adapters.inbound.http import witness as witness_http
from adapters.inbound.http.witness import MAX_BODY_BYTES, witness_app
from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from application.integrity.countersigning import Countersigning
from domain.integrity import canonical
from tests.contracts.checkpoints import chain, head
from tests.contracts.seals import KEYS
from tests.fakes import FakeClock
from tests.witnesses import InMemoryWitnessLedger

WITNESS_KEYS = Ed25519SealKeys(new_signing_key())
WITNESS_KEY = WITNESS_KEYS.public_keys[0].jwk()["x"]
CHAIN = chain((head("acme", 0),), (head("acme", 1),), (head("acme", 2),))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    witness = Countersigning(
        ledger=InMemoryWitnessLedger(), service_keys=KEYS, signer=WITNESS_KEYS, clock=FakeClock()
    )
    app = witness_app(witness, witness_key=WITNESS_KEY)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://witness") as client:
        yield client


def cosigned(body: dict[str, Any], *extra: str) -> bool:
    """Whether `cosignature` signs the answer's other fields (but `witness_key` and `extra`)."""
    statement = {k: v for k, v in body.items() if k not in {"witness_key", "cosignature", *extra}}
    return WITNESS_KEYS.verify(WITNESS_KEYS.key_id, canonical(statement), body["cosignature"])


async def test_an_accepted_checkpoint_is_answered_with_a_receipt_that_verifies(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/checkpoints", json=CHAIN[0].document())
    second = await client.post("/checkpoints", json=CHAIN[1].document())

    assert first.status_code == 200
    assert first.json()["trust_on_first_use"] is True
    body = second.json()
    assert second.status_code == 200
    assert body["trust_on_first_use"] is False
    assert (body["sequence"], body["checkpoint_hash"]) == (2, CHAIN[1].hash())
    assert body["witness_key"] == WITNESS_KEY
    assert cosigned(body, "trust_on_first_use")


async def test_latest_is_the_last_accepted_document_with_its_receipt(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/checkpoints/latest")).status_code == 404
    receipt = (await client.post("/checkpoints", json=CHAIN[0].document())).json()

    latest = (await client.get("/checkpoints/latest")).json()

    assert latest.pop("checkpoint") == CHAIN[0].document()
    assert latest == {k: v for k, v in receipt.items() if k != "trust_on_first_use"}


async def test_an_accounts_head_is_served_countersigned(client: httpx.AsyncClient) -> None:
    for checkpoint in CHAIN[:2]:
        await client.post("/checkpoints", json=checkpoint.document())

    answer = await client.get("/heads/acme")

    body = answer.json()
    assert answer.status_code == 200
    assert (body["seal_id"], body["sequence"]) == (head("acme", 1).seal_id, 2)
    assert cosigned(body)
    assert (await client.get("/heads/globex")).status_code == 404


@pytest.mark.parametrize(
    ("checkpoints", "status", "error"),
    [
        ((CHAIN[0], CHAIN[2]), 409, {"error": "GAP", "expected": 2}),
        ((CHAIN[1], chain((head("globex", 0),), (head("globex", 1),))[1]), 409, {"error": "FORK"}),
        ((CHAIN[1], chain((head("globex", 0),), (head("globex", 1),), ())[2]), 409,
         {"error": "REWIND"}),
    ],
    ids=["gap", "fork", "rewind"],
)  # fmt: skip
async def test_refusals_are_409_with_their_code(
    client: httpx.AsyncClient, checkpoints: tuple[Any, ...], status: int, error: dict[str, Any]
) -> None:
    first, second = checkpoints
    await client.post("/checkpoints", json=first.document())

    answer = await client.post("/checkpoints", json=second.document())

    assert answer.status_code == status
    assert {k: v for k, v in answer.json().items() if k != "message"} == error


async def test_a_checkpoint_with_a_bad_signature_is_400(client: httpx.AsyncClient) -> None:
    document = {**CHAIN[0].document(), "signature": CHAIN[1].signature}

    answer = await client.post("/checkpoints", json=document)

    assert answer.status_code == 400
    assert answer.json()["error"] == "BAD_SIGNATURE"
    assert (await client.get("/checkpoints/latest")).status_code == 404


def raw(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


DOCUMENT = CHAIN[0].document()
MALFORMED = {
    "not json": b"{",
    "not an object": b"[1, 2]",
    "not utf-8": raw(DOCUMENT).replace(b'"acme', b'"\xff'),
    "duplicate key": raw(DOCUMENT)[:-1] + b', "sequence": 2}',
    "NaN": raw({**DOCUMENT, "sequence": float("nan")}),
    "a key it lacks": raw({**DOCUMENT, "note": "x"}),
    "a time written another way": raw(
        {**DOCUMENT, "issued_at": DOCUMENT["issued_at"].replace("+00:00", "Z")}
    ),
    "a boolean sequence": raw({**DOCUMENT, "sequence": True}),
    "a sequence past SQLite's": raw({**DOCUMENT, "sequence": 2**63}),
    "nested too deep": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_body_that_is_not_a_checkpoint_document_is_malformed(
    client: httpx.AsyncClient, body: bytes
) -> None:
    answer = await client.post(
        "/checkpoints", content=body, headers={"content-type": "application/json"}
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "MALFORMED"
    assert "Traceback" not in answer.text


async def test_a_body_past_the_bound_is_refused_unread(client: httpx.AsyncClient) -> None:
    big = b" " * MAX_BODY_BYTES + raw(DOCUMENT)

    declared = await client.post("/checkpoints", content=big)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    streamed = await client.post("/checkpoints", content=chunks())
    assert declared.status_code == streamed.status_code == 413
    assert streamed.json()["error"] == "TOO_LARGE"


async def test_a_body_declared_past_the_bound_is_refused_without_reading_it() -> None:
    app = witness_app(
        Countersigning(
            ledger=InMemoryWitnessLedger(),
            service_keys=KEYS,
            signer=WITNESS_KEYS,
            clock=FakeClock(),
        ),
        witness_key=WITNESS_KEY,
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/checkpoints", "raw_path": b"/checkpoints",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8700),
        "headers": [(b"content-length", str(MAX_BODY_BYTES + 1).encode())],
    }  # fmt: skip
    await app(scope, receive, send)

    assert sent[0]["status"] == 413


async def test_a_body_that_does_not_arrive_in_time_is_408(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(witness_http, "BODY_TIMEOUT_SECONDS", 0.05)

    async def dripping() -> AsyncIterator[bytes]:
        yield b"{"
        await asyncio.sleep(1)
        yield b"}"

    answer = await client.post("/checkpoints", content=dripping())

    assert answer.status_code == 408
    assert answer.json()["error"] == "TIMEOUT"

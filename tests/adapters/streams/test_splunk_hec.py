"""SPLUNK_HEC against a receiver shaped like Splunk's HTTP Event Collector."""

import json

from starlette.responses import JSONResponse, Response

from adapters.inbound.http.export_formats import as_row
from application.streams.ports import Credentials, NotSent, Sent
from domain.streams import StreamKind
from tests.adapters.streams.receivers import Received, Receiver, batch, serving, stream

TOKEN = "3f1c1c33-5c1b-4d34-9a7e-0d4c0c0f3b2a"


def collector() -> Receiver:
    def answer(request: Received) -> Response:
        if request.headers.get("authorization") != f"Splunk {TOKEN}":
            return JSONResponse({"text": "Invalid token", "code": 4}, status_code=403)
        return JSONResponse({"text": "Success", "code": 0})

    return Receiver(answer=answer)


def events(body: bytes) -> list[dict]:
    decoder, text, found, at = json.JSONDecoder(), body.decode(), [], 0
    while at < len(text):
        while text[at].isspace():
            at += 1
        event, at = decoder.raw_decode(text, at)
        found.append(event)
    return found


async def test_hec_events_carry_the_token_each_row_and_the_batch_header(make_senders):
    receiver = collector()
    sent = batch(count=2)
    with serving(receiver) as port:
        sender = make_senders().by_kind[StreamKind.SPLUNK_HEC]
        url = f"http://127.0.0.1:{port}/services/collector/event"
        result = await sender.send(
            stream(StreamKind.SPLUNK_HEC, url), sent, Credentials(token=TOKEN)
        )
    assert result == Sent()
    [request] = receiver.requests
    assert request.path == "/services/collector/event"
    *rows, closing = events(request.body)
    for row, entry in zip(rows, sent.entries, strict=True):
        assert row == {
            "time": round(entry.created_at.timestamp(), 3),
            "host": "auditlog-test",
            "source": "auditlog",
            "sourcetype": "auditlog:entry",
            "event": json.loads(json.dumps(as_row(entry))),
        }
    assert closing["sourcetype"] == "auditlog:batch"
    assert closing["event"] == sent.header


async def test_a_wrong_token_is_the_collectors_403(make_senders):
    receiver = collector()
    with serving(receiver) as port:
        sender = make_senders().by_kind[StreamKind.SPLUNK_HEC]
        url = f"http://127.0.0.1:{port}/services/collector/event"
        result = await sender.send(
            stream(StreamKind.SPLUNK_HEC, url), batch(), Credentials(token="x")
        )
    assert result == NotSent("HTTP_403")

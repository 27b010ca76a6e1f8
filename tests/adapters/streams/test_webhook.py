"""WEBHOOK against a receiver that checks every request with the standardwebhooks package."""

import orjson
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.responses import Response

from adapters.inbound.http.export_formats import as_row
from application.streams.ports import Credentials, NotSent, Sent
from domain.streams import StreamKind
from tests.adapters.streams.receivers import (
    OLD_SECRET,
    SECRET,
    Received,
    Receiver,
    batch,
    serving,
    stream,
)


def verifying(secret: str) -> Receiver:
    def answer(request: Received) -> Response:
        try:
            Webhook(secret).verify(request.body, request.headers)
        except WebhookVerificationError:
            return Response(status_code=401)
        return Response(status_code=204)

    return Receiver(answer=answer)


async def test_a_webhook_batch_verifies_and_carries_each_row_and_the_signed_header(make_senders):
    receiver = verifying(SECRET)
    sent = batch(count=3)
    with serving(receiver) as port:
        sender = make_senders().by_kind[StreamKind.WEBHOOK]
        result = await sender.send(
            stream(StreamKind.WEBHOOK, f"http://127.0.0.1:{port}/hooks?tenant=1"),
            sent,
            Credentials(secrets=(SECRET,)),
        )
    assert result == Sent()
    [request] = receiver.requests
    assert request.path == "/hooks"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("auditlog")
    assert request.headers["webhook-id"] == sent.delivery_id
    body = orjson.loads(request.body)
    assert body["type"] == "audit_log.batch"
    assert body["batch"] == sent.header
    assert body["entries"] == [orjson.loads(orjson.dumps(as_row(e))) for e in sent.entries]


async def test_a_receiver_refusing_the_signature_is_not_sent(make_senders):
    receiver = verifying(SECRET)
    with serving(receiver) as port:
        sender = make_senders().by_kind[StreamKind.WEBHOOK]
        result = await sender.send(
            stream(StreamKind.WEBHOOK, f"http://127.0.0.1:{port}/"),
            batch(),
            Credentials(secrets=(OLD_SECRET,)),
        )
    assert result == NotSent("HTTP_401")


async def test_during_a_rotation_receivers_knowing_either_secret_verify(make_senders):
    old, new = verifying(OLD_SECRET), verifying(SECRET)
    both = Credentials(secrets=(SECRET, OLD_SECRET))
    sender = make_senders().by_kind[StreamKind.WEBHOOK]
    for receiver in (old, new):
        with serving(receiver) as port:
            url = f"http://127.0.0.1:{port}/"
            assert await sender.send(stream(StreamKind.WEBHOOK, url), batch(), both) == Sent()
        [request] = receiver.requests
        assert len(request.headers["webhook-signature"].split(" ")) == 2


async def test_the_same_batch_sent_twice_keeps_its_webhook_id(make_senders):
    receiver = verifying(SECRET)
    sent = batch(sequence=42)
    with serving(receiver) as port:
        sender = make_senders().by_kind[StreamKind.WEBHOOK]
        url = f"http://127.0.0.1:{port}/"
        for _ in range(2):
            result = await sender.send(
                stream(StreamKind.WEBHOOK, url), sent, Credentials((SECRET,))
            )
            assert result == Sent()
    ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert ids == [sent.delivery_id] * 2
    assert sent.delivery_id.endswith(".42")


async def test_a_webhook_without_a_secret_sends_nothing(make_senders):
    receiver = verifying(SECRET)
    with serving(receiver) as port:
        sender = make_senders().by_kind[StreamKind.WEBHOOK]
        url = f"http://127.0.0.1:{port}/"
        result = await sender.send(stream(StreamKind.WEBHOOK, url), batch(), Credentials())
    assert result == NotSent("NO_CREDENTIALS")
    assert receiver.requests == []

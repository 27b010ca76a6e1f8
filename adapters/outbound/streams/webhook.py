"""WEBHOOK: a batch POSTed as Standard Webhooks say (standardwebhooks.com): `webhook-id` the
batch's delivery id (the same on every attempt, so a receiver drops a repeat),
`webhook-timestamp` the attempt's time, `webhook-signature` one `v1,` HMAC-SHA256 per secret
(the current one, and the previous during a rotation: a receiver knowing either verifies)."""

import time
from datetime import UTC, datetime

import orjson
from standardwebhooks import Webhook

from adapters.outbound.streams.network import StreamNetwork
from adapters.outbound.streams.rows import Row
from application.streams.model import LogStream
from application.streams.ports import Batch, Credentials, NotSent, SendResult
from domain.streams import StreamKind

USER_AGENT = "auditlog-streams/1"
EVENT_TYPE = "audit_log.batch"


class WebhookSender:
    kind = StreamKind.WEBHOOK

    def __init__(self, network: StreamNetwork, row: Row) -> None:
        self._network = network
        self._row = row

    async def send(self, stream: LogStream, batch: Batch, credentials: Credentials) -> SendResult:
        body = orjson.dumps(
            {
                "type": EVENT_TYPE,
                "batch": batch.header,
                "entries": [self._row(entry) for entry in batch.entries],
            }
        )
        timestamp = int(time.time())
        try:
            signatures = signed(batch.delivery_id, timestamp, body.decode(), credentials.secrets)
        except ValueError:
            return NotSent("NO_CREDENTIALS")
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": batch.delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signatures,
        }
        return await self._network.post(stream.destination, headers, body)


def signed(message_id: str, timestamp: int, body: str, secrets: tuple[str, ...]) -> str:
    """The header's space-separated signatures; ValueError if there is no usable secret."""
    if not secrets:
        raise ValueError("no secret")
    moment = datetime.fromtimestamp(timestamp, UTC)
    try:
        return " ".join(Webhook(secret).sign(message_id, moment, body) for secret in secrets)
    except Exception:  # the library's errors for an empty or malformed secret
        raise ValueError("unusable secret") from None

"""A sender that records what it is given and answers as told: the receiver of the use-case
tests of log streams."""

import asyncio

from application.streams.model import LogStream
from application.streams.ports import Batch, Credentials, NotSent, SendResult, Sent
from domain.streams import StreamKind


class RecordingSender:
    kind = StreamKind.WEBHOOK  # any: the tests' senders map answers every kind with one

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.outcomes: list[SendResult] = []
        self.credentials: list[Credentials] = []
        self.delay = 0.0
        self._failures: dict[str | None, NotSent] = {}

    def fail_with(self, result: NotSent, *, only: str | None = None) -> None:
        """Answer `result` from now on (for the stream `only`, or every stream)."""
        self._failures[only] = result

    def succeed(self) -> None:
        self._failures.clear()

    async def send(self, stream: LogStream, batch: Batch, credentials: Credentials) -> SendResult:
        self.batches.append(batch)
        self.credentials.append(credentials)
        if self.delay:
            await asyncio.sleep(self.delay)
        result: SendResult = self._failures.get(stream.id) or self._failures.get(None) or Sent()
        self.outcomes.append(result)
        return result

    def entry_ids(self, *, only_sent: bool = False) -> list[str]:
        return [
            entry.id
            for batch, outcome in zip(self.batches, self.outcomes, strict=True)
            if not only_sent or isinstance(outcome, Sent)
            for entry in batch.entries
        ]

    def sent_ids(self) -> list[str]:
        return self.entry_ids(only_sent=True)

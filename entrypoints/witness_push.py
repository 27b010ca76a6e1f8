"""The push of checkpoints to witnesses, beside the sealer loop: built from
`AUDITLOG_WITNESS_URLS`, started and stopped by the app's lifespan (entrypoints/app.py)."""

import logging
from collections.abc import Sequence

import httpx

from adapters.outbound.witness_client import HttpWitness, witness_http_client
from application.integrity.witnessing import PushToWitnesses
from application.periodic import Periodic
from application.ports import Checkpoints
from entrypoints.settings import Settings

log = logging.getLogger("auditlog")


class WitnessPush:
    """Every `interval` seconds (the sealer's), an interval after start: the first sealing
    pass has written its checkpoints by then."""

    def __init__(
        self,
        urls: Sequence[str],
        checkpoints: Checkpoints,
        *,
        interval: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = witness_http_client(transport)
        self.push = PushToWitnesses(
            checkpoints=checkpoints, witnesses=[HttpWitness(url, self._client) for url in urls]
        )
        self._loop = Periodic(self.push.run_once, interval=interval, name="witness push", log=log)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        await self._client.aclose()


def witness_push(settings: Settings, checkpoints: Checkpoints) -> WitnessPush | None:
    """The push to the witnesses the settings name, beside the sealer; None if none."""
    urls = settings.witnesses.base_urls
    if not urls:
        return None
    return WitnessPush(urls, checkpoints, interval=settings.seals.interval_seconds)

"""The log stream delivery process that `auditlog-server` starts beside itself.

With AUDITLOG_STREAM_DELIVERY=process (the default on the embedded store and MongoDB),
delivery runs here, not on the server's event loop: a saturating load of requests neither
starves it (each of its awaits waited behind every request ready to run) nor pays for it
(reading, signing and sending a batch is CPU the requests shared one core with); here it has
a loop of its own and may have another core. It opens the same store (the embedded store's
file in WAL mode takes readers and writers from several processes; MongoDB, any number of
clients) and takes leases under the server's name.

What passes between the server and this process is theirs alone (entrypoints/stream_process.py
is the other end):
- stdin: a `Handoff` (a 4-byte big-endian length, then its pickle: the server's settings and
  lease owner), then nothing. Its end of file means the server is gone, killed included:
  the worker stops (a send cut short is sent again, the position moves only after a
  receiver took a batch).
- stdout: one JSON array per line, what delivery counted, for the server's /metrics:
  `["delivered", kind, entries]`, `["failed", kind, code]`, `["lag", seconds]`.
- stderr: its log lines, as the server's.
"""

import asyncio
import logging
import os
import pickle
import signal
import struct
import sys
import threading
from dataclasses import dataclass, replace
from typing import BinaryIO

import orjson

from adapters.observability.logs import configure_logging
from adapters.observability.metrics import Metrics
from adapters.outbound.plans_file import PlanFileError, load_plans
from application.periodic import Periodic
from domain.plan import PlanCatalog
from entrypoints import bootstrap, streaming
from entrypoints.config import ConfigError
from entrypoints.gc_tuning import tune_garbage_collection
from entrypoints.settings import Settings

log = logging.getLogger("auditlog")
_LENGTH = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Handoff:
    settings: Settings
    owner: str
    """The server's name in leases: a worker started again after one that died takes the
    streams its predecessor held at once, not after their leases lapse."""

    def encode(self) -> bytes:
        body = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        return _LENGTH.pack(len(body)) + body


def read_handoff(source: BinaryIO) -> Handoff:
    """From the server's end of the pipe only: pickle trusts what it reads."""
    header = source.read(_LENGTH.size)
    if len(header) != _LENGTH.size:
        raise EOFError("the server closed the pipe before its settings")
    (length,) = _LENGTH.unpack(header)
    body = source.read(length)
    if len(body) != length:
        raise EOFError("the server closed the pipe in the middle of its settings")
    handoff = pickle.loads(body)  # noqa: S301 - our parent's own bytes, over a private pipe
    if not isinstance(handoff, Handoff):
        raise TypeError("not a delivery handoff")
    return handoff


class Reports:
    """The delivery's telemetry as lines on stdout, for the server to count."""

    def __init__(self, out: BinaryIO, gone: threading.Event) -> None:
        self._out = out
        self._gone = gone

    def _send(self, *report: object) -> None:
        try:
            self._out.write(orjson.dumps(report) + b"\n")
            self._out.flush()
        except OSError:
            self._gone.set()  # the server is gone: stop

    def stream_delivered(self, kind: str, entries: int) -> None:
        self._send("delivered", kind, entries)

    def stream_failed(self, kind: str, code: str) -> None:
        self._send("failed", kind, code)

    def stream_lag(self, seconds: float) -> None:
        self._send("lag", seconds)


def worker_settings(settings: Settings) -> Settings:
    """The server's settings, less the store chores the server already does: the embedded
    store's expiry sweep and MongoDB's index management."""
    store = settings.store.model_copy(
        update={"embedded_ttl_sweep_seconds": 86_400.0, "mongodb_manage_indexes": False}
    )
    return replace(settings, store=store)


def main() -> int:
    configure_logging(level="INFO", development=False)
    # stdout carries the reports alone: anything printed goes to the log stream instead.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr
    try:
        handoff = read_handoff(sys.stdin.buffer)
    except (EOFError, TypeError, pickle.UnpicklingError) as exc:
        log.error("log stream delivery process: %s", exc)
        return 2
    settings = worker_settings(handoff.settings)
    try:
        secrets = bootstrap.secrets_of(settings)
        plans = load_plans(settings.access.plans_file)
    except (ConfigError, PlanFileError) as exc:
        log.error("log stream delivery process: %s", exc)
        return 2
    configure_logging(
        level=settings.server.log_level,
        development=settings.server.environment == "development",
        known_secrets=secrets.known,
    )
    tune_garbage_collection()
    gone = threading.Event()
    return asyncio.run(_deliver(settings, handoff.owner, secrets, plans, Reports(out, gone), gone))


async def _deliver(
    settings: Settings,
    owner: str,
    secrets: bootstrap.Secrets,
    plans: PlanCatalog,
    reports: Reports,
    gone: threading.Event,
) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)

    def watch_lifeline() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        gone.set()

    def watch_gone() -> None:
        gone.wait()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_lifeline, name="lifeline", daemon=True).start()
    threading.Thread(target=watch_gone, name="gone", daemon=True).start()
    try:
        store = await bootstrap.StoreSource(settings).take()
    except Exception as exc:  # the server opened it a moment ago: say which, and let it retry
        log.error("log stream delivery process: cannot open the store: %s", type(exc).__name__)
        return 1
    outbound = streaming.outbound_senders(settings)
    services = bootstrap.services(
        store,
        settings,
        plans=plans,
        secrets=secrets,
        telemetry=Metrics(),  # the use cases' counters: nothing here serves them
        overrides=bootstrap.Overrides(),
        outbound=outbound,
        stream_telemetry=reports,
        stream_owner=owner,
    )
    assert services.streams is not None
    delivering = Periodic(
        services.streams.delivery.pass_once,
        interval=settings.streams.poll_seconds,
        name="log stream delivery",
        log=log,
        first_at_start=True,
    )
    delivering.start()
    try:
        await stop.wait()
    finally:
        await delivering.stop()
        await outbound.aclose()
        await store.close()
    return 0


if __name__ == "__main__":
    # As the module itself, not as __main__: the handoff's class must be the one pickled.
    from entrypoints.stream_worker import main as run

    sys.exit(run())

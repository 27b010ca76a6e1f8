"""The benchmark server: the real app over stores that cost almost nothing, plus baselines.

Mounted only here:
- `POST /bare/record`, `POST /bare/record-many`, `GET /bare/logs`: what a user would write
  instead of GraphQL, plain JSON routes doing the same work through the same use cases
  (authentication, validation, tenancy, stamping, the same store);
- `POST /floor/graphql`: Strawberry executing the same documents with resolvers that do
  nothing (a batch is counted; a page of 100 entries is returned ready-made): the floor
  GraphQL itself sets;
- `GET /bench/stored` (the cheap store only): how many entries it holds, how many under an
  idempotency key (so a run can check its events were stored, not answered as replays), and
  how many requests are still being served (those wrk left when it stopped: a run waits
  for none before the next, which they would otherwise slow down).

With `--streams` (bench/streams.py), log streams are kept in memory too, may reach loopback
receivers over http://, and send entries once they are a second old (the settle delay's
least; the cheap store's inserts commit at once, so the store's timeout is set below it).
With `--data-dir` too, the app runs as `auditlog-server` does, on the embedded SQLite store
in that directory with nothing overridden: streams are delivered from a process of their own
(or `--delivery inline`, on the server's loop).

    .venv/bin/python -m bench.bench_server --port 8123 [--embedded] [--seed 10000] [--seal]
        [--streams [--data-dir DIR [--delivery process|inline]]]
"""

import argparse
import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Any

import strawberry
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from starlette import types as asgi
from strawberry.fastapi import GraphQLRouter

from adapters.inbound.graphql.inputs import AuditEventInput, AuditLogFilterInput, parse_batch
from adapters.inbound.graphql.scalars import JSON, DateTime, JsonValue
from adapters.inbound.graphql.types import AuditLogConnection
from adapters.inbound.http.export_formats import as_row
from application.access.principal import Principal
from application.reading.criteria import LogFilter
from application.reading.query import Page
from domain.entry import AuditEntry, AuditEvent
from domain.tenancy import Account, ApiKey, Application, Scope, compose_secret, hash_secret
from entrypoints.app import Overrides, create_app
from entrypoints.main import tune_garbage_collection
from entrypoints.settings import (
    AccessSettings,
    EventSettings,
    RateLimitSettings,
    SealSettings,
    ServerSettings,
    Settings,
    StoreSettings,
    StreamSettings,
)
from tests.builders import trail
from tests.fakes import (
    InMemoryAccounts,
    InMemoryApiKeys,
    InMemoryApplications,
    InMemoryAuditEntries,
    InMemoryCheckpoints,
    InMemoryLogStreams,
    InMemorySealerState,
    InMemorySeals,
)

OPERATOR = "bench-operator-token-0123456789abcdef"
KEY_ID = "00000000000000b1"
KEY = compose_secret(KEY_ID, "b" * 43)
STREAM_SETTLE_SECONDS = 1
"""With `--streams`: the oldest-first settle delay, the least the settings allow."""


def settings(
    *, seal: bool, streams: bool = False, data_dir: str | None = None, delivery: str = "auto"
) -> Settings:
    configured = Settings(
        server=ServerSettings(log_level="WARNING"),
        store=StoreSettings(store="memory", embedded_ttl_sweep_seconds=3600),
        access=AccessSettings(operator_token=SecretStr(OPERATOR)),
        rate_limits=RateLimitSettings(enabled=False),
        seals=SealSettings(enabled=seal, window_seconds=1, grace_seconds=1, interval_seconds=0.5),
    )
    if not streams:
        return configured
    # The settle delay must exceed the store's longest insert (entrypoints/config.py
    # event_timing): the memory store is checked against the SQLite busy timeout, which it
    # never waits on, so that is set to its least.
    return dataclasses.replace(
        configured,
        store=StoreSettings(
            store="memory", embedded_ttl_sweep_seconds=3600, sqlite_busy_timeout_ms=100
        )
        if data_dir is None
        else StoreSettings(
            store="sqlite",
            data_dir=data_dir,
            embedded_ttl_sweep_seconds=3600,
            sqlite_busy_timeout_ms=500,
        ),
        events=EventSettings(oldest_first_settle_seconds=STREAM_SETTLE_SECONDS),
        streams=StreamSettings(allowed_private_hosts="127.0.0.1", delivery=delivery),
    )


def directory() -> tuple[InMemoryAccounts, InMemoryApplications, InMemoryApiKeys]:
    accounts, applications, keys = InMemoryAccounts(), InMemoryApplications(), InMemoryApiKeys()
    accounts.accounts["acme"] = Account(id="acme", name="Acme", plan="pro")
    applications.applications["portal"] = Application(id="portal", account="acme", name="Portal")
    keys.keys[KEY_ID] = ApiKey(
        id=KEY_ID, account="acme", application=None,
        scopes=frozenset({Scope.RECORD, Scope.READ, Scope.EXPORT}),
        secret_hash=hash_secret(KEY), revoked=False, created_at=datetime.now(UTC),
    )  # fmt: skip
    return accounts, applications, keys


def seeded(count: int) -> InMemoryAuditEntries:
    entries = InMemoryAuditEntries()
    rows = list(trail(count, newest=datetime.now(UTC).replace(microsecond=0)))
    rows.reverse()  # oldest first: each lands at the end of the store's time order
    asyncio.run(entries.add_many(rows))
    return entries


# --- the baselines -----------------------------------------------------------------------


async def _principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    services = request.app.state.services
    return await services.access.authenticate.execute(
        header.removeprefix("Bearer ").strip() or None
    )


def _row(entry: AuditEntry) -> dict[str, Any]:
    return as_row(entry)


def mount_baselines(app: FastAPI) -> None:
    @app.post("/bare/record")
    async def bare_record(request: Request) -> JSONResponse:
        principal = await _principal(request)
        body = await request.json()
        event = AuditEvent(
            application=body["application"], action=body["action"], success=body["success"],
            email=body.get("email"), reason=body.get("reason"), ip=body.get("ip"),
            user_agent=body.get("userAgent"), request_id=body.get("requestId"),
        )  # fmt: skip
        entry = await request.app.state.services.recording.record.execute(principal, event)
        return JSONResponse(_row(entry))

    @app.post("/bare/record-many")
    async def bare_record_many(request: Request) -> JSONResponse:
        principal = await _principal(request)
        body = await request.json()
        inputs = [AuditEventInput(**{_snake(k): v for k, v in i.items()}) for i in body["inputs"]]
        entries = await request.app.state.services.recording.record_many.execute(
            principal, parse_batch(inputs)
        )
        return JSONResponse({"recorded": len(entries)})

    @app.get("/bare/logs")
    async def bare_logs(request: Request) -> JSONResponse:
        principal = await _principal(request)
        params = request.query_params
        wanted = LogFilter(
            actions=(params["action"],) if "action" in params else None,
            since=datetime.fromisoformat(params["since"]) if "since" in params else None,
            until=datetime.fromisoformat(params["until"]) if "until" in params else None,
        )
        page = await request.app.state.services.reading.query.execute(
            principal, wanted, first=int(params.get("first", 50)), after=params.get("after")
        )
        return JSONResponse(_page(page))

    app.include_router(GraphQLRouter(_floor_schema(), graphql_ide=None), prefix="/floor/graphql")


def _page(page: Page) -> dict[str, Any]:
    edges = [{"cursor": page.cursor_of(e), "node": _row(e)} for e in page.entries]
    return {
        "edges": edges,
        "pageInfo": {
            "hasNextPage": page.has_next_page,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _floor_entries() -> list[AuditEntry]:
    """The page the floor serves: 100 entries like the seeded ones, built once."""
    newest = datetime.now(UTC).replace(microsecond=0)
    return list(trail(100, newest=newest, actions=("auth.login",), reasons=(None, None)))


@strawberry.input(name="AuditEventInput")
class StockEventInput(AuditEventInput):
    """The service's input as stock strawberry builds it: a type of its own has no
    `from_input` hook (inputs.py), so the floor converts every input as strawberry does."""


def _floor_schema() -> strawberry.Schema:
    @strawberry.type
    class Recorded:
        recorded: int

    page = AuditLogConnection.of(Page(entries=_floor_entries(), has_next_page=True))

    @strawberry.type
    class Query:
        @strawberry.field
        def audit_logs(
            self,
            filter: AuditLogFilterInput | None = None,
            first: int | None = 50,
            after: str | None = None,
        ) -> AuditLogConnection:
            return page

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def record_audit_events(self, inputs: list[StockEventInput]) -> Recorded:
            return Recorded(recorded=len(inputs))

    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        config=strawberry.schema.config.StrawberryConfig(
            scalar_map={datetime: DateTime, JsonValue: JSON}
        ),
    )


def build_on_disk(data_dir: str, delivery: str) -> FastAPI:
    """The app as `auditlog-server` runs it, on the embedded store in `data_dir` with nothing
    overridden (so streams are delivered as configured: a process of their own by default);
    the runner makes its account, application and key over GraphQL."""
    app = create_app(settings(seal=False, streams=True, data_dir=data_dir, delivery=delivery))
    app.state.bench_entries = None
    return app


def build(*, embedded: bool, seed: int, seal: bool, streams: bool = False) -> FastAPI:
    accounts, applications, keys = directory()
    overrides = Overrides(accounts=accounts, applications=applications, keys=keys)
    if streams:
        overrides = dataclasses.replace(overrides, log_streams=InMemoryLogStreams())
    if not embedded:
        # The embedded store is filled over HTTP by the runner, through the service itself.
        # Seals too: mongomock copying and sorting whole seals would be what a sealing run
        # measured.
        overrides = dataclasses.replace(
            overrides,
            entries=seeded(seed),
            seals=InMemorySeals(),
            sealer_state=InMemorySealerState(),
            checkpoints=InMemoryCheckpoints(),
        )
    app = create_app(settings(seal=seal, streams=streams), overrides)
    app.state.bench_entries = overrides.entries
    mount_baselines(app)
    return app


class InFlight:
    """ASGI middleware counting the HTTP requests being served, but for /bench/stored."""

    def __init__(self, app: asgi.ASGIApp) -> None:
        self.app = app
        self.count = 0

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/bench/stored":
            await self.app(scope, receive, send)
            return
        self.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.count -= 1


def mount_counts(app: FastAPI, entries: InMemoryAuditEntries | None) -> asgi.ASGIApp:
    """The app wrapped in a count of its requests in flight, with /bench/stored reading it
    (and, on the cheap store, how many entries it holds: -1 on another)."""
    counted = InFlight(app)

    @app.get("/bench/stored")
    async def stored() -> JSONResponse:
        return JSONResponse(
            {
                "entries": -1 if entries is None else len(entries),
                "keyed": -1 if entries is None else len(entries.entries.by_key),
                "in_flight": counted.count,
            }
        )

    return counted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--embedded", action="store_true", help="the embedded (mongomock) store")
    parser.add_argument("--seed", type=int, default=0, help="entries in the cheap store")
    parser.add_argument("--seal", action="store_true", help="run the sealer")
    parser.add_argument("--streams", action="store_true", help="log streams to loopback")
    parser.add_argument(
        "--data-dir", help="with --streams: the embedded SQLite store there, nothing overridden"
    )
    parser.add_argument("--delivery", default="auto", help="with --data-dir: stream delivery")
    args = parser.parse_args()
    if args.data_dir is not None:
        app = build_on_disk(args.data_dir, args.delivery)
    else:
        app = build(embedded=args.embedded, seed=args.seed, seal=args.seal, streams=args.streams)
    served: asgi.ASGIApp = app
    tune_garbage_collection()  # as auditlog-server does
    if args.data_dir is not None or isinstance(app.state.bench_entries, InMemoryAuditEntries):
        served = mount_counts(app, app.state.bench_entries)
    uvicorn.run(served, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()

"""GET /metrics: Prometheus text, bounded labels, and counts that follow what the service did."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from application.errors import StoreUnavailable
from domain.entry import AuditEntry
from entrypoints.app import Overrides, create_app
from entrypoints.settings import InterceptorSettings, RateLimitSettings, Settings
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants, settings
from tests.fakes import FakeClock, InMemoryAuditEntries

EXPORT = """query($filter: AuditLogFilter, $format: ExportFormat!) {
  exportAuditLogs(filter: $filter, format: $format) { url }
}"""
BATCH = """mutation($inputs: [AuditEventInput!]!) {
  recordAuditEvents(inputs: $inputs) { entries { id } }
}"""
ROOT_FIELDS = "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }"
CREDENTIAL_REASON = "api_key=Zq8vX2mK9pL4rT7wN1cB5dF3"
# Operation labels that are not root fields of the schema (see the middleware and observer).
OTHER_OPERATIONS = {
    "invalid", "multiple", "unparsed", "introspection", "unmatched", "graphql", "graphiql",
    "index", "metrics", "readyz", "healthz", "export_download",
}  # fmt: skip
INTERCEPTOR_RESULTS = {"queued", "sent", "retried", "dropped", "failed", "invalid"}


@dataclass
class Scrape:
    families: list[Metric]

    def value(self, sample: str, **labels: str) -> float:
        """The value of the sample with exactly these labels; 0 for a series not yet seen."""
        found = [s.value for s in self.samples() if s.name == sample and s.labels == labels]
        assert len(found) <= 1, (sample, labels, found)
        return found[0] if found else 0.0

    def has(self, sample: str, **labels: str) -> bool:
        return any(s.name == sample and s.labels == labels for s in self.samples())

    def samples(self) -> list[Any]:
        return [sample for family in self.families for sample in family.samples]

    def family(self, name: str) -> Metric:
        [family] = [f for f in self.families if f.name == name]
        return family

    def label_values(self, label: str | None = None) -> set[str]:
        return {
            value
            for sample in self.samples()
            for name, value in sample.labels.items()
            if label is None or name == label
        }


async def scrape(api: Api, *, settle: bool = True) -> Scrape:
    if settle:
        await api.settle()
    response = await api.http.get("/metrics")
    assert response.status_code == 200, response.text
    return Scrape(list(text_string_to_metric_families(response.text)))


def delta(before: Scrape, after: Scrape, sample: str, **labels: str) -> float:
    return after.value(sample, **labels) - before.value(sample, **labels)


def requests(before: Scrape, after: Scrape, operation: str, outcome: str) -> float:
    return delta(before, after, "auditlog_requests_total", operation=operation, outcome=outcome)


async def read(api: Api, token: str, **headers: str) -> httpx.Response:
    """An auditLogs request without waiting for earlier audit events first."""
    return await api.http.post(
        "/graphql",
        json={"query": "{ auditLogs { edges { cursor } } }"},
        headers={"Authorization": f"Bearer {token}", **headers},
    )


def events(count: int, **fields: Any) -> list[dict[str, Any]]:
    return [
        {"action": "auth.login", "success": True, "application": "portal", **fields}
        for _ in range(count)
    ]


@contextlib.asynccontextmanager
async def started(
    configured: Settings, overrides: Overrides | None = None
) -> AsyncIterator[tuple[FastAPI, Api]]:
    app = create_app(configured, overrides or Overrides(clock=FakeClock()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
            yield app, Api(http, app.state.services.emitter.drain)


async def test_the_page_is_prometheus_text_with_every_family(api: Api, tenants: Tenants) -> None:
    response = await api.http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    page = Scrape(list(text_string_to_metric_families(response.text)))
    assert {f.name: f.type for f in page.families} == {
        "auditlog_requests": "counter",
        "auditlog_request_duration_seconds": "histogram",
        "auditlog_entries_recorded": "counter",
        "auditlog_interceptor_queue_depth": "gauge",
        "auditlog_interceptor_events": "counter",
        "auditlog_export_rows": "counter",
        "auditlog_rate_limited": "counter",
        "auditlog_unknown_credentials": "counter",
        "auditlog_auth_failures": "counter",
        "auditlog_rejected_key_attempts_folded": "counter",
        "auditlog_sealing_lag_seconds": "gauge",
        "auditlog_sealing_lease_suspect": "gauge",
        "auditlog_stream_entries_delivered": "counter",
        "auditlog_stream_batches": "counter",
        "auditlog_stream_lag_seconds": "gauge",
    }
    assert not [s.name for s in page.samples() if s.name.endswith("_created")]


async def test_the_content_type_is_the_text_format_0_0_4(api: Api) -> None:
    response = await api.http.get("/metrics")

    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")


async def test_graphql_requests_are_counted_by_root_field_and_outcome(
    api: Api, tenants: Tenants
) -> None:
    before = await scrape(api)

    assert (await api.record(tenants.acme_record, application="portal")).data
    assert (await api.record(tenants.acme_record, application="portal")).data
    refused = await api.record(tenants.acme_record, application="portal", reason=CREDENTIAL_REASON)
    assert refused.code == "BAD_USER_INPUT"
    assert (await api.logs(tenants.acme_read)).data
    assert (await api.logs(tenants.acme_record)).code == "FORBIDDEN"
    assert (await api.logs("alk_0123456789abcdef_not-a-key-at-all")).code == "UNAUTHENTICATED"
    batch = await api.gql(BATCH, {"inputs": events(3)}, token=tenants.acme_record)
    assert len(batch.data["recordAuditEvents"]["entries"]) == 3
    after = await scrape(api)

    assert requests(before, after, "recordAuditEvent", "ok") == 2
    assert requests(before, after, "recordAuditEvent", "BAD_USER_INPUT") == 1
    assert requests(before, after, "auditLogs", "ok") == 1
    assert requests(before, after, "auditLogs", "FORBIDDEN") == 1
    assert requests(before, after, "auditLogs", "UNAUTHENTICATED") == 1
    assert requests(before, after, "recordAuditEvents", "ok") == 1
    # A GraphQL request is counted once, under its root field, not under the route too.
    assert requests(before, after, "graphql", "ok") == 0


async def test_routes_are_counted_by_their_name_and_status(api: Api, tenants: Tenants) -> None:
    before = await scrape(api)

    assert (await api.http.get("/healthz")).status_code == 200
    assert (await api.http.get("/healthz")).status_code == 200
    assert (await api.http.get("/readyz")).status_code == 200
    assert (await api.http.get("/")).status_code == 200
    assert (await api.http.get("/no/such/acme/path")).status_code == 404
    assert (await api.http.get("/exports/not-a-token")).status_code == 403
    after = await scrape(api)

    assert requests(before, after, "healthz", "ok") == 2
    assert requests(before, after, "readyz", "ok") == 1
    assert requests(before, after, "index", "ok") == 1
    assert requests(before, after, "unmatched", "HTTP_404") == 1
    assert requests(before, after, "export_download", "HTTP_403") == 1
    # The first scrape was counted once it had been answered.
    assert requests(before, after, "metrics", "ok") == 1


async def test_latency_is_a_histogram_by_operation(api: Api, tenants: Tenants) -> None:
    before = await scrape(api)

    for _ in range(3):
        assert (await api.logs(tenants.acme_read)).data
    after = await scrape(api)

    count = "auditlog_request_duration_seconds_count"
    assert delta(before, after, count, operation="auditLogs") == 3
    assert delta(before, after, count, operation="recordAuditEvent") == 0
    assert delta(before, after, "auditlog_request_duration_seconds_sum", operation="auditLogs") > 0
    buckets = sorted(
        (float(s.labels["le"]), s.value)
        for s in after.samples()
        if s.name == "auditlog_request_duration_seconds_bucket"
        and s.labels["operation"] == "auditLogs"
    )
    assert len(buckets) > 5
    assert [value for _, value in buckets] == sorted(value for _, value in buckets)
    assert buckets[-1] == (float("inf"), after.value(count, operation="auditLogs"))


async def test_entries_recorded_grows_by_exactly_the_entries_stored(
    api: Api, tenants: Tenants
) -> None:
    recorded = "auditlog_entries_recorded_total"
    before = await scrape(api)

    assert (await api.record(tenants.acme_record, application="portal")).data
    batch = await api.gql(BATCH, {"inputs": events(3)}, token=tenants.acme_record)
    assert len(batch.data["recordAuditEvents"]["entries"]) == 3
    middle = await scrape(api)
    # Refused: a single event, and a batch with one bad input (all or nothing).
    refused = await api.record(tenants.acme_record, application="portal", reason=CREDENTIAL_REASON)
    assert refused.code == "BAD_USER_INPUT"
    inputs = [*events(2), *events(1, reason=CREDENTIAL_REASON)]
    assert (await api.gql(BATCH, {"inputs": inputs}, token=tenants.acme_record)).code == (
        "BAD_USER_INPUT"
    )
    after = await scrape(api)

    assert delta(before, middle, recorded) == 4
    assert delta(middle, after, recorded) == 0


async def test_the_interceptor_reports_its_queue_and_what_became_of_each_event(
    api: Api, tenants: Tenants
) -> None:
    before = await scrape(api)

    assert before.label_values("result") == INTERCEPTOR_RESULTS
    assert before.has("auditlog_interceptor_queue_depth")
    assert (await api.logs(tenants.acme_read)).data  # a read by a key is audited
    after = await scrape(api)

    events_total = "auditlog_interceptor_events_total"
    assert delta(before, after, events_total, result="queued") == 1
    assert delta(before, after, events_total, result="sent") == 1
    assert after.value("auditlog_interceptor_queue_depth") == 0


class GatedEntries(InMemoryAuditEntries):
    """Batches (the interceptor's) wait while the gate is shut, then fail `failures` times."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.held = asyncio.Event()
        self.failures = 0

    async def add_many(self, entries: Sequence[AuditEntry], *, skip_existing: bool = False) -> None:
        if not self.gate.is_set():
            self.held.set()
            await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable()
        await super().add_many(entries, skip_existing=skip_existing)


async def test_queue_depth_drops_retries_and_failures_are_counted() -> None:
    entries = GatedEntries()
    configured = replace(
        settings(),
        interceptor=InterceptorSettings(
            linger_ms=0, queue_size=1, max_attempts=2, backoff_base_ms=1, backoff_max_ms=1
        ),
    )
    async with started(configured, Overrides(clock=FakeClock(), entries=entries)) as (app, api):
        await api.create_account("acme", "pro")
        _, key = await api.issue_key("acme", ["READ"])
        events_total = "auditlog_interceptor_events_total"
        before = await scrape(api)

        entries.gate.clear()
        assert (await read(api, key)).status_code == 200
        await asyncio.wait_for(entries.held.wait(), 5)  # the first event is in flight, held
        assert (await read(api, key)).status_code == 200  # queued (the queue holds one)
        assert (await read(api, key)).status_code == 200  # dropped: the queue is full
        held = await scrape(api, settle=False)
        entries.failures = 2  # the held batch fails both of its attempts
        entries.gate.set()
        after = await scrape(api)

        assert held.value("auditlog_interceptor_queue_depth") == 2
        assert delta(before, held, events_total, result="queued") == 2
        assert delta(before, held, events_total, result="dropped") == 1
        assert delta(before, held, events_total, result="sent") == 0
        assert after.value("auditlog_interceptor_queue_depth") == 0
        assert delta(held, after, events_total, result="retried") == 1
        assert delta(held, after, events_total, result="failed") == 1
        assert delta(held, after, events_total, result="sent") == 1

        # An event the service could not even build (here: an action that breaks the rules).
        assert not app.state.services.auditor.emit("Not An Action", success=True, application="x")
        assert delta(after, await scrape(api), events_total, result="invalid") == 1


async def test_export_rows_grow_by_the_rows_of_a_download(api: Api, tenants: Tenants) -> None:
    _, exporter = await api.issue_key("acme", ["READ", "EXPORT"])
    for i in range(5):
        assert (await api.record(tenants.acme_record, application="portal", reason=f"r{i}")).data
    result = await api.gql(
        EXPORT,
        {"filter": {"application": "portal", "actions": ["auth.login"]}, "format": "NDJSON"},
        token=exporter,
    )
    url = result.data["exportAuditLogs"]["url"]
    before = await scrape(api)

    response = await api.http.get(url)
    assert response.status_code == 200
    refused = await api.http.get(url[:-6] + ("A" if url[-6] != "A" else "B") + url[-5:])
    assert refused.status_code == 403
    after = await scrape(api)

    assert len(response.text.splitlines()) == 5 + 1  # and the trailer
    assert delta(before, after, "auditlog_export_rows_total") == 5
    assert requests(before, after, "export_download", "ok") == 1


async def test_requests_refused_by_a_rate_limit_are_counted_by_kind() -> None:
    limits = RateLimitSettings(
        record_per_second=0.001, record_burst=1_000, read_per_second=0.001, read_burst=1
    )
    async with started(replace(settings(), rate_limits=limits)) as (_, api):
        await api.create_account("acme", "pro")
        await api.create_application("acme", "portal")
        _, key = await api.issue_key("acme", ["RECORD", "READ"])
        before = await scrape(api)

        assert (await api.logs(key)).data
        assert (await api.logs(key)).code == "RATE_LIMITED"
        assert (await api.logs(key)).code == "RATE_LIMITED"
        middle = await scrape(api)
        assert (await api.gql(BATCH, {"inputs": events(1_000)}, token=key)).data
        assert (await api.record(key, application="portal")).code == "RATE_LIMITED"
        after = await scrape(api)

    limited = "auditlog_rate_limited_total"
    assert before.label_values("kind") == {"read", "record", "auth"}
    assert delta(before, middle, limited, kind="read") == 2
    assert delta(before, middle, limited, kind="record") == 0
    assert delta(middle, after, limited, kind="record") == 1
    assert delta(middle, after, limited, kind="read") == 0
    assert requests(before, middle, "auditLogs", "RATE_LIMITED") == 2


async def test_only_secrets_that_match_no_key_count_as_unknown_credentials(
    api: Api, tenants: Tenants
) -> None:
    revoked_id, revoked = await api.issue_key("acme", ["READ"])
    await api.operator("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": revoked_id})
    unknown = "auditlog_unknown_credentials_total"
    before = await scrape(api)

    assert (await api.logs("alk_0123456789abcdef_AbCdEfGhIjKlMnOp")).code == "UNAUTHENTICATED"
    assert (await api.logs("not-even-shaped-like-a-key")).code == "UNAUTHENTICATED"
    middle = await scrape(api)
    assert (await api.logs(revoked)).code == "UNAUTHENTICATED"  # recorded in its trail instead
    response = await api.http.post("/graphql", json={"query": "{ plans { name } }"})
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await api.logs(OPERATOR_TOKEN)).data
    after = await scrape(api)

    assert delta(before, middle, unknown) == 2
    assert delta(middle, after, unknown) == 0


async def test_no_label_carries_tenant_data_and_operations_are_bounded(api: Api) -> None:
    account, application, email = "zeta-corp-4417", "zeta-app-4417", "zeta.canary@example.com"
    request_ids = ["rid-zeta-0001", "rid-zeta-0002", "rid-zeta-0003"]
    await api.create_account(account, "pro")
    await api.create_application(account, application)
    key_id, key = await api.issue_key(account, ["RECORD", "READ", "EXPORT"])
    root = (await api.gql(ROOT_FIELDS, token=None)).data["__schema"]
    root_fields = {
        f["name"] for kind in ("queryType", "mutationType") for f in root[kind]["fields"]
    }

    async def post(body: dict[str, Any], request_id: str = request_ids[0]) -> httpx.Response:
        await api.settle()
        headers = {"Authorization": f"Bearer {key}", "X-Request-ID": request_id}
        return await api.http.post("/graphql", json=body, headers=headers)

    record = {"action": "auth.login", "success": True, "application": application, "email": email}
    assert (await api.record(key, **record)).data
    assert (await api.record(key, **{**record, "reason": CREDENTIAL_REASON})).error
    assert (await api.record(key, **{**record, "application": "zeta-nowhere-4417"})).error
    await post({"query": "query ZetaOp4417 { auditLogs { edges { cursor } } }"}, request_ids[1])
    await post({"query": f'{{ auditLogs(filter: {{email: "{email}"}}) {{ nope }} }}'})
    await post({"query": f'{{ zetaField4417(email: "{email}") }}'})
    await post({"query": "{ plans { name } auditLogs { edges { cursor } } }"})
    await post({"query": "{ zeta-corp-4417 "})
    await post({"query": "{ __typename }"}, request_ids[2])
    url = (
        await api.gql(EXPORT, {"filter": {"application": application}, "format": "CSV"}, token=key)
    ).data["exportAuditLogs"]["url"]
    assert (await api.http.get(url)).status_code == 200
    await api.http.get(f"/{account}/{application}/{key_id}", headers={"X-Request-ID": "rid-z"})
    await api.http.get("/graphql", headers={"Accept": "text/html"})
    page = await scrape(api)

    tenant_data = [account, application, key_id, key, email, *request_ids, url.split("/")[-1]]
    labels = page.label_values()
    assert not [(v, t) for v in labels for t in tenant_data if t in v or v == t]
    operations = page.label_values("operation")
    assert operations <= root_fields | OTHER_OPERATIONS, operations - root_fields
    assert {"recordAuditEvent", "auditLogs", "exportAuditLogs", "export_download"} <= operations
    assert {"invalid", "multiple", "unparsed", "unmatched"} <= operations
    assert all(re.fullmatch(r"ok|[A-Z][A-Z_]*|HTTP_\d{3}", v) for v in page.label_values("outcome"))

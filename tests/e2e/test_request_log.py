"""The request log: one line per request, under a request id the caller can follow."""

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.observability.logs import configure_logging
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants

GENERATED = re.compile(r"[0-9a-f]{32}")
VALID_ID = "req-123.abc:9"
FIELDS = ("method", "route", "status", "operation", "outcome", "duration_ms")
EXPORT = """query($filter: AuditLogFilter) {
  exportAuditLogs(filter: $filter, format: NDJSON) { url }
}"""


class RequestLog:
    """The `request` records of logger auditlog.request, and each as the production
    formatter renders it at the moment it is logged (the request id is added then)."""

    def __init__(self, caplog: pytest.LogCaptureFixture, rendered: list[dict[str, Any]]) -> None:
        self._caplog = caplog
        self._rendered = rendered

    @property
    def records(self) -> list[logging.LogRecord]:
        return [r for r in self._caplog.records if r.name == "auditlog.request"]

    @property
    def lines(self) -> list[dict[str, Any]]:
        return self._rendered

    def one(self) -> tuple[logging.LogRecord, dict[str, Any]]:
        assert len(self.records) == 1, [r.__dict__ for r in self.records]
        assert len(self.lines) == 1, self.lines
        return self.records[0], self.lines[0]

    def clear(self) -> None:
        self._caplog.clear()
        self._rendered.clear()


class _Rendering(logging.Handler):
    def __init__(self, formatter: logging.Formatter, into: list[dict[str, Any]]) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self._into = into

    def emit(self, record: logging.LogRecord) -> None:
        self._into.append(json.loads(self.format(record)))


def production_formatter() -> logging.Formatter:
    """The formatter `configure_logging` installs, without leaving it installed."""
    root = logging.getLogger()
    access = logging.getLogger("uvicorn.access")
    saved = root.handlers[:], root.level, access.disabled
    try:
        configure_logging(level="DEBUG", development=False)
        formatter = root.handlers[0].formatter
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        access.disabled = saved[2]
    assert formatter is not None
    return formatter


@pytest.fixture
def request_log(caplog: pytest.LogCaptureFixture) -> Iterator[RequestLog]:
    caplog.set_level(logging.DEBUG, logger="auditlog.request")
    rendered: list[dict[str, Any]] = []
    handler = _Rendering(production_formatter(), rendered)
    logger = logging.getLogger("auditlog.request")
    logger.addHandler(handler)
    try:
        yield RequestLog(caplog, rendered)
    finally:
        logger.removeHandler(handler)


async def post(
    api: Api, query: str, token: str | None, variables: dict[str, Any] | None = None,
    **headers: str | bytes,
) -> httpx.Response:  # fmt: skip
    await api.settle()
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await api.http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


READ = "{ auditLogs { edges { cursor } } }"


class TestTheRequestId:
    @pytest.mark.parametrize("request_id", [VALID_ID, "A", "x" * 128, "0_a-b.c:d"])
    async def test_a_plain_identifier_is_kept_echoed_and_logged(
        self, api: Api, tenants: Tenants, request_log: RequestLog, request_id: str
    ) -> None:
        await api.settle()
        request_log.clear()

        response = await post(api, READ, tenants.acme_read, **{"X-Request-ID": request_id})

        assert response.headers["x-request-id"] == request_id
        _, line = request_log.one()
        assert line["request_id"] == request_id

    @pytest.mark.parametrize(
        "request_id",
        ["a" * 200, "x" * 129, "req 123", "req\n123", "req\t1", "", "-leading", "req/1", "é1"],
        ids=["200-chars", "129-chars", "space", "newline", "tab", "empty", "dash", "slash", "utf8"],
    )
    async def test_anything_else_is_replaced_by_a_generated_id(
        self, api: Api, tenants: Tenants, request_log: RequestLog, request_id: str
    ) -> None:
        await api.settle()
        request_log.clear()

        response = await post(api, READ, tenants.acme_read, **{"X-Request-ID": request_id.encode()})

        echoed = response.headers["x-request-id"]
        assert GENERATED.fullmatch(echoed)
        _, line = request_log.one()
        assert line["request_id"] == echoed
        assert request_id not in json.dumps(line) or request_id == ""

    async def test_without_one_each_request_gets_its_own(
        self, api: Api, tenants: Tenants, request_log: RequestLog
    ) -> None:
        first = await api.http.get("/")
        second = await post(api, READ, tenants.acme_read)

        ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
        assert all(GENERATED.fullmatch(i) for i in ids)
        assert ids[0] != ids[1]
        assert [line["request_id"] for line in request_log.lines] == ids

    async def test_the_self_audit_entry_of_a_read_carries_the_logged_request_id(
        self, api: Api, tenants: Tenants, request_log: RequestLog
    ) -> None:
        await api.settle()
        request_log.clear()
        valid = await post(api, READ, tenants.acme_read, **{"X-Request-ID": VALID_ID})
        _, valid_line = request_log.one()
        request_log.clear()
        replaced = await post(api, READ, tenants.acme_portal_only, **{"X-Request-ID": "no good"})
        _, replaced_line = request_log.one()

        viewed = await api.all_entries(OPERATOR_TOKEN, actions=["portal.audit_logs.viewed"])

        by_application = {entry["application"]: entry["requestId"] for entry in viewed}
        assert by_application == {
            "_acme": valid.headers["x-request-id"],
            "portal": replaced.headers["x-request-id"],
        }
        assert valid_line["request_id"] == VALID_ID
        assert replaced_line["request_id"] == replaced.headers["x-request-id"]
        assert GENERATED.fullmatch(replaced_line["request_id"])


class TestOneLinePerRequest:
    async def test_a_graphql_request_is_named_by_its_root_field_and_outcome(
        self, api: Api, tenants: Tenants, request_log: RequestLog
    ) -> None:
        await api.settle()
        request_log.clear()

        await post(
            api,
            "mutation($input: AuditEventInput!) { recordAuditEvent(input: $input) { id } }",
            tenants.acme_record,
            {"input": {"action": "auth.login", "success": True, "application": "portal"}},
        )

        record, line = request_log.one()
        assert record.getMessage() == "request"
        assert record.levelno == logging.INFO
        assert {field: getattr(record, field) for field in FIELDS[:-1]} == {
            "method": "POST",
            "route": "/graphql",
            "status": 200,
            "operation": "recordAuditEvent",
            "outcome": "ok",
        }
        assert isinstance(record.duration_ms, float)
        assert 0 <= record.duration_ms < 60_000
        assert line["event"] == "request"
        assert line["level"] == "info"
        assert {field: line[field] for field in FIELDS} == {
            field: getattr(record, field) for field in FIELDS
        }

    @pytest.mark.parametrize(
        ("token", "operation", "outcome"),
        [
            ("acme_record", "auditLogs", "FORBIDDEN"),
            ("acme_read", "auditLogs", "ok"),
            (None, "auditLogs", "UNAUTHENTICATED"),
        ],
    )
    async def test_a_refused_graphql_request_is_logged_with_its_error_code(
        self,
        api: Api,
        tenants: Tenants,
        request_log: RequestLog,
        token: str | None,
        operation: str,
        outcome: str,
    ) -> None:
        await api.settle()
        request_log.clear()

        await post(api, READ, None if token is None else getattr(tenants, token))

        record, _ = request_log.one()
        assert (record.status, record.operation, record.outcome) == (200, operation, outcome)

    async def test_each_request_is_logged_exactly_once(
        self, api: Api, tenants: Tenants, request_log: RequestLog
    ) -> None:
        await api.settle()
        request_log.clear()

        await post(api, READ, tenants.acme_read)
        await post(api, "{ plans { name } }", tenants.acme_read)
        await api.http.get("/healthz")
        await api.http.get("/nowhere")
        await api.http.post("/graphql", content=b"{not json", headers={"content-type": "text/x"})

        logged = [
            (r.method, r.route, r.status, r.operation, r.outcome) for r in request_log.records
        ]
        assert logged == [
            ("POST", "/graphql", 200, "auditLogs", "ok"),
            ("POST", "/graphql", 200, "plans", "ok"),
            ("GET", "/healthz", 200, "healthz", "ok"),
            ("GET", "unmatched", 404, "unmatched", "HTTP_404"),
            ("POST", "/graphql", 415, "graphql", "HTTP_415"),
        ]  # fmt: skip
        assert len(request_log.lines) == 5

    async def test_an_export_download_is_logged_by_route_template_without_its_token(
        self, api: Api, tenants: Tenants, request_log: RequestLog
    ) -> None:
        _, exporter = await api.issue_key("acme", ["READ", "EXPORT"])
        url = (await api.gql(EXPORT, token=exporter)).data["exportAuditLogs"]["url"]
        token = url.removeprefix("/exports/")
        tampered = url[:-6] + ("A" if url[-6] != "A" else "B") + url[-5:]
        await api.settle()
        request_log.clear()

        ok = await api.http.get(url)
        refused = await api.http.get(tampered)

        assert (ok.status_code, refused.status_code) == (200, 403)
        records = request_log.records
        assert [(r.route, r.status, r.operation, r.outcome) for r in records] == [
            ("/exports/{token}", 200, "export_download", "ok"),
            ("/exports/{token}", 403, "export_download", "HTTP_403"),
        ]
        for record in records:
            assert record.getMessage() == "request"
            assert not [v for v in vars(record).values() if token[:20] in str(v)]
        rendered = json.dumps(request_log.lines)
        assert token[:20] not in rendered
        assert tampered.removeprefix("/exports/")[:20] not in rendered

    @pytest.mark.parametrize(
        ("path", "level"),
        [
            ("/healthz", logging.DEBUG),
            ("/readyz", logging.DEBUG),
            ("/metrics", logging.DEBUG),
            ("/", logging.INFO),
            ("/nowhere", logging.INFO),
        ],
    )
    async def test_probes_and_scrapes_log_at_debug_everything_else_at_info(
        self, api: Api, request_log: RequestLog, path: str, level: int
    ) -> None:
        await api.http.get(path)

        record, line = request_log.one()
        assert record.levelno == level
        assert line["level"] == logging.getLevelName(level).lower()

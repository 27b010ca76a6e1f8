"""A small GraphQL client for the end-to-end tests, speaking HTTP to the ASGI app."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

OPERATOR_TOKEN = "operator-token-for-the-e2e-suite-0123456789"
EXPORT_SIGNING_KEY = "export-signing-key-for-the-e2e-suite-0123456789"

ENTRY_FIELDS = """id action email success reason application account createdAt expiresAt
ip userAgent requestId occurredAt idempotencyKey actor { id type name }
targets { id type name } metadata digest"""

RECORD = f"""mutation Record($input: AuditEventInput!) {{
  recordAuditEvent(input: $input) {{ {ENTRY_FIELDS} }}
}}"""

AUDIT_LOGS = f"""query Logs($filter: AuditLogFilter, $first: Int, $after: String) {{
  auditLogs(filter: $filter, first: $first, after: $after) {{
    edges {{ cursor node {{ {ENTRY_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


class GraphQLFailed(AssertionError):
    pass


@dataclass
class Result:
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        if self.body.get("errors"):
            raise GraphQLFailed(self.body["errors"])
        return self.body["data"]

    @property
    def error(self) -> dict[str, Any]:
        errors = self.body.get("errors") or []
        assert len(errors) == 1, self.body
        return errors[0]

    @property
    def code(self) -> str:
        return str(self.error["extensions"]["code"])


# The service's own events (see application/self_audit.py).
SELF_AUDIT_ACTIONS = ("admin.", "portal.audit_logs.", "auth.api_key.")


class Api:
    def __init__(
        self, http: httpx.AsyncClient, drain: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.http = http
        self._drain = drain

    async def settle(self) -> None:
        """Wait until the service's own audit events emitted so far are stored."""
        if self._drain is not None:
            await self._drain()

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None
    ) -> Result:
        # Deterministic tests: every self-audit event of earlier requests is stored first.
        await self.settle()
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return Result(response.json())

    async def operator(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        return (await self.gql(query, variables, token=OPERATOR_TOKEN)).data

    async def create_account(self, account: str, plan: str = "pro") -> None:
        await self.operator(
            "mutation($id: ID!, $name: String!, $plan: String!) {"
            " createAccount(id: $id, name: $name, plan: $plan)"
            " { id } }",
            {"id": account, "name": account.title(), "plan": plan},
        )

    async def create_application(self, account: str, application: str) -> None:
        await self.operator(
            "mutation($a: ID!, $id: ID!, $name: String!) {"
            " createApplication(account: $a, id: $id, name: $name) { id } }",
            {"a": account, "id": application, "name": application.title()},
        )

    async def issue_key(
        self, account: str, scopes: list[str], application: str | None = None
    ) -> tuple[str, str]:
        """Returns (key id, secret)."""
        data = await self.operator(
            "mutation($a: ID!, $app: ID, $s: [Scope!]!) {"
            " issueApiKey(account: $a, application: $app, scopes: $s)"
            " { apiKey { id } secret } }",
            {"a": account, "app": application, "s": scopes},
        )
        return data["issueApiKey"]["apiKey"]["id"], data["issueApiKey"]["secret"]

    async def record(self, token: str, **event: Any) -> Result:
        fields = {"action": "auth.login", "success": True, **event}
        return await self.gql(RECORD, {"input": fields}, token=token)

    async def logs(
        self, token: str, *, filter: dict[str, Any] | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Result:  # fmt: skip
        variables: dict[str, Any] = {"filter": filter, "after": after}
        if first is not None:
            variables["first"] = first
        return await self.gql(AUDIT_LOGS, variables, token=token)

    async def all_entries(self, token: str, **filter: Any) -> list[dict[str, Any]]:
        """Every entry the token can see, walking all pages."""
        nodes: list[dict[str, Any]] = []
        after = None
        while True:
            page = (await self.logs(token, filter=filter or None, first=500, after=after)).data
            nodes += [edge["node"] for edge in page["auditLogs"]["edges"]]
            if not page["auditLogs"]["pageInfo"]["hasNextPage"]:
                return nodes
            after = page["auditLogs"]["pageInfo"]["endCursor"]

    async def all_ids(self, token: str, **filter: Any) -> list[str]:
        """The ids of every entry the token can see, but the service's own events."""
        return [
            node["id"]
            for node in await self.all_entries(token, **filter)
            if not node["action"].startswith(SELF_AUDIT_ACTIONS)
        ]

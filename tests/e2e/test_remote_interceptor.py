"""A platform service audits its flow through the interceptor, remotely, over HTTP."""

import httpx
import pytest
from auditlog_client import AuditEmitter, Auditor, GraphQLHttpSink
from fastapi import FastAPI

from tests import configs
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants


class InvalidPassword(Exception):
    pass


async def test_an_audited_flow_in_another_service_lands_in_this_one(
    app: FastAPI, api: Api, tenants: Tenants
) -> None:
    sink = GraphQLHttpSink(
        "http://audit.test", api_key=tenants.acme_record, transport=httpx.ASGITransport(app=app)
    )
    emitter = AuditEmitter(sink, configs.emitter_config(linger_seconds=0))
    emitter.start()
    auditor = Auditor(emitter)

    @auditor.audited("auth.login", application="portal", email=lambda call: call["email"])
    async def login(email: str, password: str) -> str:
        if password != "correct horse":
            raise InvalidPassword(f"wrong password {password} for {email}")
        return "session-token"

    assert await login("Ann@Example.com", "correct horse") == "session-token"
    with pytest.raises(InvalidPassword):
        await login("bob@example.com", "hunter2")
    assert await emitter.stop() == 0
    await sink.close()

    entries = await api.all_entries(OPERATOR_TOKEN, actions=["auth.login"])
    assert [(e["email"], e["success"], e["reason"], e["account"]) for e in entries] == [
        ("bob@example.com", False, "InvalidPassword", "acme"),
        ("ann@example.com", True, None, "acme"),
    ]
    assert "hunter2" not in str(entries)

"""Keyset pagination over HTTP: complete, ordered, bounded, and blind to forged cursors."""

import base64

import pytest

from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants
from tests.fakes import FakeClock

LOGINS = {"actions": ["auth.login"]}


async def walk(api: Api, token: str, first: int) -> list[dict]:
    nodes, after = [], None
    while True:
        page = (await api.logs(token, filter=LOGINS, first=first, after=after)).data["auditLogs"]
        nodes += [edge["node"] for edge in page["edges"]]
        if page["edges"]:
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def test_walking_all_pages_returns_every_live_entry_once_newest_first(
    api: Api, tenants: Tenants, clock: FakeClock
) -> None:
    recorded = []
    for i in range(23):
        # Runs of entries share a millisecond, so the id must break ties.
        if i % 4 == 0:
            clock.advance(milliseconds=1)
        result = await api.record(tenants.acme_rw, application="portal")
        recorded.append(result.data["recordAuditEvent"])

    nodes = await walk(api, tenants.acme_rw, first=5)

    expected = sorted(recorded, key=lambda e: (e["createdAt"], e["id"]), reverse=True)
    assert [n["id"] for n in nodes] == [e["id"] for e in expected]


async def test_first_page_defaults_to_fifty(api: Api, tenants: Tenants) -> None:
    for _ in range(51):
        await api.record(tenants.acme_rw, application="portal")

    page = (await api.logs(tenants.acme_rw)).data["auditLogs"]

    assert len(page["edges"]) == 50
    assert page["pageInfo"]["hasNextPage"] is True


async def test_an_empty_result_has_no_end_cursor(api: Api, tenants: Tenants) -> None:
    page = (await api.logs(tenants.acme_rw, filter=LOGINS)).data["auditLogs"]

    assert page == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


@pytest.mark.parametrize("first", [0, -1, 501])
async def test_page_size_outside_1_to_500_is_bad_input(
    api: Api, tenants: Tenants, first: int
) -> None:
    result = await api.logs(tenants.acme_rw, first=first)

    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == "first"


@pytest.mark.parametrize("cursor", ["", "not a cursor", "%%%", base64.b64encode(b"1:2:3").decode()])
async def test_a_cursor_that_cannot_be_decoded_is_bad_input(
    api: Api, tenants: Tenants, cursor: str
) -> None:
    result = await api.logs(tenants.acme_rw, after=cursor)

    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == "after"


async def test_a_cursor_from_another_tenant_cannot_widen_what_a_key_sees(
    api: Api, tenants: Tenants, clock: FakeClock
) -> None:
    mine = (await api.record(tenants.acme_rw, application="portal")).data["recordAuditEvent"]
    for _ in range(3):
        clock.advance(milliseconds=1)
        await api.record(OPERATOR_TOKEN, application="shop")
    foreign_page = (await api.logs(tenants.globex_rw, filter=LOGINS, first=1)).data["auditLogs"]

    page = await api.logs(
        tenants.acme_rw, filter=LOGINS, after=foreign_page["pageInfo"]["endCursor"]
    )

    assert [e["node"]["id"] for e in page.data["auditLogs"]["edges"]] == [mine["id"]]


async def test_expired_entries_are_never_returned_even_before_they_are_deleted(
    api: Api, tenants: Tenants, clock: FakeClock
) -> None:
    old = (await api.record(tenants.globex_rw, application="shop")).data["recordAuditEvent"]
    clock.advance(days=6)
    young = (await api.record(tenants.globex_rw, application="shop")).data["recordAuditEvent"]

    clock.advance(days=1, milliseconds=-1)
    assert await api.all_ids(tenants.globex_rw) == [young["id"], old["id"]]
    clock.advance(milliseconds=1)
    assert await api.all_ids(tenants.globex_rw) == [young["id"]]

"""Every page the service runs is an index range: EXPLAIN QUERY PLAN shows a SEARCH on an
index led by the tenant's columns and no sort of its own (no temp B-tree), never a SCAN of
entries, except the operator's unfiltered view, which walks the sort index from the newest."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.outbound.sqlite.pages import page_query
from adapters.outbound.sqlite.schema import prepare
from application.reading.criteria import EntryCriteria, LogFilter, Position

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=1)

TENANT_FILTERS = [
    LogFilter(account="acme"),
    LogFilter(account="acme", application="portal"),
    LogFilter(account="acme", actions=("auth.login",)),
    LogFilter(account="acme", actions=("auth.login", "auth.logout", "mfa.enrolled")),
    LogFilter(account="acme", email="bob@example.com"),
    LogFilter(account="acme", success=False),
    LogFilter(account="acme", since=SINCE, until=NOW),
    LogFilter(
        account="acme", application="portal", email="bob@example.com", since=SINCE, until=NOW
    ),
    LogFilter(account="acme", application="portal", actions=("auth.login", "auth.logout")),
    LogFilter(application="portal"),
]


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    path: Path = tmp_path_factory.mktemp("plans") / "a.db"
    connection = sqlite3.connect(path, isolation_level=None)
    prepare(connection)
    return connection


def plan_rows(
    conn: sqlite3.Connection, wanted: LogFilter, after: Position | None
) -> list[tuple[int, int, int, str]]:
    sql, params = page_query(EntryCriteria(wanted), now=NOW, after=after, limit=100)
    return list(conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def plan(conn: sqlite3.Connection, wanted: LogFilter, after: Position | None) -> list[str]:
    return [row[3] for row in plan_rows(conn, wanted, after)]


def unbounded_sorts(rows: list[tuple[int, int, int, str]]) -> list[str]:
    """Sorts of anything but one action's page (a subquery of at most `limit` rows): those
    would read every match before the first row."""
    subquery_parents = {parent for _, parent, _, s in rows if s.startswith("SCAN (subquery-")}
    return [s for _, parent, _, s in rows if "TEMP B-TREE" in s and parent not in subquery_parents]


@pytest.mark.parametrize("after", [None, Position(NOW, "f" * 24)], ids=["first", "next"])
@pytest.mark.parametrize("wanted", TENANT_FILTERS, ids=repr)
def test_a_tenant_s_page_is_an_index_range_in_sort_order(
    conn: sqlite3.Connection, wanted: LogFilter, after: Position | None
) -> None:
    rows = plan_rows(conn, wanted, after)
    steps = [row[3] for row in rows]
    reads = [s for s in steps if "entries" in s]

    assert len(reads) == max(1, len(wanted.actions or ()))
    assert all(s.startswith("SEARCH entries USING INDEX entries_") for s in reads), steps
    assert not unbounded_sorts(rows), steps
    leading = "(account=?" if wanted.account else "(application=?"
    assert all(leading in s for s in reads), steps
    if wanted.since is not None or after is not None:
        assert all("created_at" in s for s in reads), steps


def test_the_operator_s_unfiltered_page_walks_the_sort_index_only(
    conn: sqlite3.Connection,
) -> None:
    steps = plan(conn, LogFilter(), None)
    assert steps == ["SCAN entries USING INDEX entries_newest"]
    ranged = plan(conn, LogFilter(since=SINCE, until=NOW), Position(NOW, "f" * 24))
    assert len(ranged) == 1
    assert ranged[0].startswith("SEARCH entries USING INDEX entries_newest (created_at")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM seals INDEXED BY seals_account_window WHERE account = 'acme'"
        " ORDER BY window_start DESC LIMIT 1",
        "SELECT * FROM seals INDEXED BY seals_account_window WHERE account = 'acme'"
        " AND window_end > 0 AND window_start < 9 ORDER BY window_start",
        "SELECT min(created_at) FROM entries",
        "SELECT rowid FROM entries WHERE expires_at <= 5 LIMIT 1000",
        "SELECT rowid FROM seals WHERE expires_at <= 5 LIMIT 1000",
    ],
)
def test_seal_reads_the_oldest_entry_and_the_sweep_use_indexes(
    conn: sqlite3.Connection, sql: str
) -> None:
    steps = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
    assert all(s.startswith(("SEARCH", "USE TEMP")) is False or "INDEX" in s for s in steps)
    assert not [s for s in steps if s.startswith("SCAN") and "INDEX" not in s], steps
    assert not [s for s in steps if "TEMP B-TREE" in s], steps

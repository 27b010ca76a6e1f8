"""Every page the service runs is an index range: EXPLAIN QUERY PLAN shows a SEARCH on an
index led by the tenant's columns and no sort of its own (no temp B-tree), never a SCAN of
entries, except the operator's unfiltered view, which walks the sort index from the newest.
Oldest first walks the same index ranges the other way; a target filter walks an index of
entry_targets and looks each entry up by id."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.outbound.sqlite.entries import KEYS_PER_QUERY, holding_keys_query
from adapters.outbound.sqlite.pages import index_for, page_query
from adapters.outbound.sqlite.schema import prepare
from application.reading.criteria import EntryCriteria, LogFilter, Order, Position

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
    LogFilter(account="acme", actor_id="user_01HBOB"),
    LogFilter(account="acme", actor_id="user_01HBOB", success=True, since=SINCE),
    LogFilter(account="acme", target_id="doc_7"),
    LogFilter(account="acme", target_type="document"),
    LogFilter(account="acme", target_id="doc_7", target_type="document"),
    LogFilter(account="acme", target_id="doc_7", actor_id="user_01HBOB", until=NOW),
    LogFilter(account="acme", target_type="document", since=SINCE, until=NOW),
    LogFilter(account="acme", target_id="doc_7", actions=("auth.login", "auth.logout")),
    LogFilter(account="acme", application="portal", target_type="document"),
]
LOOKUP = "SEARCH entries USING INDEX sqlite_autoindex_entries_1 (id=?)"
"""An entry found by id from its row in entry_targets."""


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    path: Path = tmp_path_factory.mktemp("plans") / "a.db"
    connection = sqlite3.connect(path, isolation_level=None)
    prepare(connection)
    return connection


def plan_rows(
    conn: sqlite3.Connection,
    wanted: LogFilter,
    after: Position | None,
    order: Order = Order.NEWEST_FIRST,
) -> list[tuple[int, int, int, str]]:
    sql, params = page_query(EntryCriteria(wanted), now=NOW, after=after, limit=100, order=order)
    return list(conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def plan(
    conn: sqlite3.Connection,
    wanted: LogFilter,
    after: Position | None,
    order: Order = Order.NEWEST_FIRST,
) -> list[str]:
    return [row[3] for row in plan_rows(conn, wanted, after, order)]


def unbounded_sorts(rows: list[tuple[int, int, int, str]]) -> list[str]:
    """Sorts of anything but one action's page (a subquery of at most `limit` rows): those
    would read every match before the first row."""
    subquery_parents = {parent for _, parent, _, s in rows if s.startswith("SCAN (subquery-")}
    return [s for _, parent, _, s in rows if "TEMP B-TREE" in s and parent not in subquery_parents]


@pytest.mark.parametrize("order", list(Order), ids=lambda o: o.name)
@pytest.mark.parametrize("after", [None, Position(NOW, "f" * 24)], ids=["first", "next"])
@pytest.mark.parametrize("wanted", TENANT_FILTERS, ids=repr)
def test_a_tenant_s_page_is_an_index_range_in_sort_order(
    conn: sqlite3.Connection, wanted: LogFilter, after: Position | None, order: Order
) -> None:
    rows = plan_rows(conn, wanted, after, order)
    steps = [row[3] for row in rows]
    index = index_for(EntryCriteria(wanted))
    walked = "t" if index.startswith("entry_targets_") else "entries"
    ranges = [s for s in steps if s.startswith(f"SEARCH {walked} USING INDEX {index} (")]
    lookups = [s for s in steps if s == LOOKUP]
    # A union's subqueries, and a row's own targets (json_each) where entry_targets is not
    # the index walked, are not reads of a table.
    reads = [
        s
        for s in steps
        if s.startswith(("SEARCH", "SCAN")) and "subquery" not in s and "json_each" not in s
    ]

    assert len(ranges) == max(1, len(wanted.actions or ()))
    assert len(lookups) == (len(ranges) if walked == "t" else 0)
    assert reads == [s for s in steps if s in ranges or s == LOOKUP], steps  # nothing else
    assert not unbounded_sorts(rows), steps
    leading = "(account=?" if wanted.account else "(application=?"
    assert all(leading in s for s in ranges), steps
    if after is not None:
        # The keyset is in the range, not a filter on it: a deep page starts where it is.
        key = "(created_at,entry_id)" if walked == "t" else "(created_at,id)"
        beyond = "<" if order is Order.NEWEST_FIRST else ">"
        assert all(f"{key}{beyond}(?,?)" in s for s in ranges), steps
    if wanted.since is not None or wanted.until is not None:
        assert all("created_at" in s for s in ranges), steps


@pytest.mark.parametrize("wanted", TENANT_FILTERS, ids=repr)
def test_oldest_first_walks_the_indexes_newest_first_walks(
    conn: sqlite3.Connection, wanted: LogFilter
) -> None:
    def walked(order: Order) -> list[str]:
        steps = plan(conn, wanted, Position(NOW, "f" * 24), order)
        return [s.split(" (")[0] for s in steps if s.startswith(("SEARCH", "SCAN"))]

    assert walked(Order.OLDEST_FIRST) == walked(Order.NEWEST_FIRST)


def test_the_operator_s_unfiltered_page_walks_the_sort_index_only(
    conn: sqlite3.Connection,
) -> None:
    steps = plan(conn, LogFilter(), None)
    assert steps == ["SCAN entries USING INDEX entries_newest"]
    assert plan(conn, LogFilter(), None, Order.OLDEST_FIRST) == steps
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


def test_holding_keys_searches_the_key_index_once_per_pair(conn: sqlite3.Connection) -> None:
    params = [value for i in range(KEYS_PER_QUERY) for value in ("acme", f"k{i}")]
    steps = [
        row[3]
        for row in conn.execute(f"EXPLAIN QUERY PLAN {holding_keys_query(KEYS_PER_QUERY)}", params)
    ]

    assert [s for s in steps if "entries" in s] == [
        "SEARCH entries USING INDEX entries_account_idempotency_key"
        " (account=? AND idempotency_key=?)"
    ]
    assert not [s for s in steps if "TEMP B-TREE" in s], steps

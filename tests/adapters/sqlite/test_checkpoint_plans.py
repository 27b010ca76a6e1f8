"""Every checkpoint read is an index range, by sequence (the rowid) or, for `listing`, by
checkpoint_seals' key, and none sorts on its own (no temp B-tree); `latest` walks the table
from the highest sequence and stops at the first live one, so it reads one row however many
checkpoints are kept (not every live one, sorted, as the expires_at index would have it)."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.outbound.sqlite.checkpoints import AFTER, GET, LATEST, listing_query
from adapters.outbound.sqlite.schema import prepare

T = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    path: Path = tmp_path_factory.mktemp("plans") / "a.db"
    connection = sqlite3.connect(path, isolation_level=None)
    prepare(connection)
    return connection


@pytest.mark.parametrize(
    ("sql", "params", "search"),
    [
        (GET, [3], "SEARCH checkpoints USING INTEGER PRIMARY KEY (rowid=?)"),
        (AFTER, [3, 10], "SEARCH checkpoints USING INTEGER PRIMARY KEY (rowid>?)"),
        (*listing_query("acme", None, None), "(account=?)"),
        (*listing_query("acme", T, T + timedelta(days=1)), "(account=? AND window_start>?"),
    ],
)
def test_each_read_walks_an_index_range_without_a_sort_of_its_own(
    conn: sqlite3.Connection, sql: str, params: list[Any], search: str
) -> None:
    plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]

    assert any(step.startswith("SEARCH") and search in step for step in plan), plan
    assert not [step for step in plan if "TEMP B-TREE" in step or step.startswith("SCAN")], plan


def test_latest_walks_from_the_highest_sequence(conn: sqlite3.Connection) -> None:
    plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {LATEST}")]

    assert plan == ["SCAN checkpoints"]

"""The SQL of a page of entries: which index it walks, and the one range of it that it reads.

A page leads with the tenant's equality columns and walks the sort key (created_at, id) down
for newest first, up for oldest first: since/until and the keyset bound are ranges on that
key, so a page is one index range whichever way it goes. A target filter walks
`entry_targets` instead (one row per entry and target id, type or pair, carrying the entry's
sort key) and looks each entry up by id.
"""

from datetime import datetime
from typing import Any

from adapters.outbound.sqlite.mappers import ENTRY_COLUMNS, to_micros
from adapters.outbound.sqlite.schema import ACTOR_ID
from application.reading.criteria import EntryCriteria, Order, Position

QUALIFIED_SELECT = ", ".join(f"entries.{column}" for column in ENTRY_COLUMNS)
"""The entry columns, named so that a join with entry_targets cannot make them ambiguous."""

_DIRECTION = {Order.NEWEST_FIRST: ("DESC", "<"), Order.OLDEST_FIRST: ("ASC", ">")}
"""Per order: how the sort key is walked, and how "after the position" compares."""

_TARGET_KEYS = {
    # index: the equalities of its filter shape, on the rows its partial index holds
    "entry_targets_id_newest": "t.target_id = ? AND t.target_type IS NULL",
    "entry_targets_type_newest": "t.target_id IS NULL AND t.target_type = ?",
    "entry_targets_pair_newest": "t.target_id = ? AND t.target_type = ?",
}

_HAS_TARGET = (
    "EXISTS (SELECT 1 FROM json_each(entries.targets) WHERE {})",
    "json_extract(value, '$.id') = ?",
    "json_extract(value, '$.type') = ?",
)
"""A target filter as a predicate on the row, where entry_targets is not the index walked."""


def index_for(criteria: EntryCriteria) -> str:
    """The index a page walks: the tenant's equality columns, then the sort key. Chosen here,
    not by the planner, so a page stays one index range however the table's statistics go.
    Ids (of a target, the actor, an email) name few entries; a type, an application or an
    action many, so the first of those given is the one walked."""
    wanted = criteria.filter
    if wanted.account is None:
        return "entries_application_newest" if wanted.application else "entries_newest"
    if wanted.target_id is not None:
        if wanted.target_type is not None:
            return "entry_targets_pair_newest"
        return "entry_targets_id_newest"
    if wanted.actor_id is not None:
        return "entries_account_actor_newest"
    if wanted.email is not None:
        return "entries_account_email_newest"
    if wanted.application is not None:
        return "entries_account_application_newest"
    if wanted.actions is not None:
        return "entries_account_action_newest"
    if wanted.target_type is not None:
        return "entry_targets_type_newest"
    return "entries_account_newest"


def page_query(
    criteria: EntryCriteria,
    *,
    now: datetime,
    after: Position | None,
    limit: int,
    order: Order = Order.NEWEST_FIRST,
) -> tuple[str, list[Any]]:
    """The SQL and parameters of a page: what `criteria.admits()` selects, live at `now`,
    strictly after `after` in `order`. Several actions are one index range each, merged."""
    wanted = criteria.filter
    index = index_for(criteria)
    direction, beyond = _DIRECTION[order]
    # The table whose index is walked holds the account, the sort key and the expiry.
    if index in _TARGET_KEYS:
        walked, sort = "t.", ("t.created_at", "t.entry_id")
        source = (
            f"SELECT {QUALIFIED_SELECT} FROM entry_targets AS t INDEXED BY {index}"
            " CROSS JOIN entries ON entries.id = t.entry_id"
        )
    else:
        walked, sort = "entries.", ("entries.created_at", "entries.id")
        source = f"SELECT {QUALIFIED_SELECT} FROM entries INDEXED BY {index}"
    clauses = [f"{walked}expires_at > ?"]
    params: list[Any] = [to_micros(now)]
    if wanted.account is not None:
        clauses.append(f"{walked}account = ?")
        params.append(wanted.account)
    if index in _TARGET_KEYS:
        clauses.append(_TARGET_KEYS[index])
        params.extend(v for v in (wanted.target_id, wanted.target_type) if v is not None)
    elif wanted.target_id is not None or wanted.target_type is not None:
        exists, by_id, by_type = _HAS_TARGET
        tests = [(by_id, wanted.target_id), (by_type, wanted.target_type)]
        clauses.append(exists.format(" AND ".join(t for t, v in tests if v is not None)))
        params.extend(v for _, v in tests if v is not None)
    if wanted.actor_id is not None:
        # Both terms as the partial index states them, or the planner may not use it.
        clauses.append(f"entries.actor IS NOT NULL AND {ACTOR_ID} = ?")
        params.append(wanted.actor_id)
    equalities = {
        "application": wanted.application,
        "email": wanted.email,
        "success": None if wanted.success is None else int(wanted.success),
    }
    for column, value in equalities.items():
        if value is not None:
            clauses.append(f"entries.{column} = ?")
            params.append(value)
    start, stop = _bounds(criteria, after, order)
    if start is not None:
        clauses.append(f"({sort[0]}, {sort[1]}) {beyond} (?, ?)")
        params.extend(start)
    if stop is not None:
        clauses.append(f"{sort[0]} {'>=' if order is Order.NEWEST_FIRST else '<'} ?")
        params.append(stop)
    actions = list(dict.fromkeys(wanted.actions or ()))
    if len(actions) == 1:
        clauses.append("entries.action = ?")
        params.append(actions[0])
    where = " AND ".join(clauses)
    ordered = f"ORDER BY {sort[0]} {direction}, {sort[1]} {direction}"
    if len(actions) <= 1:
        return f"{source} WHERE {where} {ordered} LIMIT ?", [*params, limit]
    # Each action's page is one range in sort order; only their union (at most
    # len(actions) * limit rows) is sorted again.
    parts: list[str] = []
    merged: list[Any] = []
    for action in actions:
        parts.append(
            f"SELECT * FROM ({source} WHERE {where} AND entries.action = ? {ordered} LIMIT ?)"
        )
        merged.extend([*params, action, limit])
    union_order = f"ORDER BY created_at {direction}, id {direction}"
    return f"{' UNION ALL '.join(parts)} {union_order} LIMIT ?", [*merged, limit]


def _bounds(
    criteria: EntryCriteria, after: Position | None, order: Order
) -> tuple[tuple[int, str] | None, int | None]:
    """Where the walk starts (a keyset position it goes strictly beyond) and the created_at
    it stops at. The start is the tighter of `after` and the filter's bound on that side:
    two bounds on one side would leave the planner to range on one and filter on the other,
    and a deep page would read every row before it. A time bound is a position at that time
    and the empty id, before every id: `created_at < until` is `(created_at, id) < (until,
    '')`, and `created_at >= since` is `(created_at, id) > (since, '')`."""
    wanted = criteria.filter
    newest = order is Order.NEWEST_FIRST
    edge, stop = (wanted.until, wanted.since) if newest else (wanted.since, wanted.until)
    starts = [(to_micros(edge), "")] if edge is not None else []
    if after is not None:
        starts.append((to_micros(after.created_at), after.entry_id))
    start = (min if newest else max)(starts) if starts else None
    return start, None if stop is None else to_micros(stop)

"""Two processes on one file (WAL): both write and read, nothing is lost, the sealer's
lease has one holder at a time, and a key both add at once is stored once."""

import asyncio
import sqlite3
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from application.reading.criteria import EntryCriteria, LogFilter
from tests.adapters.sqlite.conftest import open_store
from tests.builders import entry

ROOT = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from adapters.outbound.sqlite.store import SqliteStore
    from tests.builders import entry

    async def main() -> None:
        store = await SqliteStore.open(Path(sys.argv[1]), busy_timeout_ms=5000,
                                       ttl_sweep_seconds=3600)
        now = datetime.now(UTC)
        print(await store.sealer_state.acquire("child", now=now,
                                               until=now + timedelta(minutes=5)), flush=True)
        adds = [entry(account="child", entry_id=f"c{i:023x}") for i in range(300)]
        await asyncio.gather(*(store.entries.add(e) for e in adds))
        await store.close()

    asyncio.run(main())
    """
)


async def test_two_processes_write_the_same_file_and_one_holds_the_lease(db_path: Path) -> None:
    store = await open_store(db_path)
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            str(db_path),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        assert child.stdout is not None
        took = (await child.stdout.readline()).strip()
        mine = [entry(account="parent", entry_id=f"p{i:023x}") for i in range(300)]
        await asyncio.gather(*(store.entries.add(e) for e in mine))
        assert await child.wait() == 0

        now = datetime.now(UTC)
        assert took == b"True"
        assert await store.sealer_state.acquire("parent", now=now, until=now) is False
        for account in ("parent", "child"):
            scope = EntryCriteria(LogFilter(account=account))
            stored = await store.entries.query(scope, now=now, after=None, limit=1000)
            assert len(stored) == 300
        later = now + timedelta(minutes=6)
        assert await store.sealer_state.acquire("parent", now=later, until=later) is True
    finally:
        await store.close()


RACER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from adapters.outbound.sqlite.store import SqliteStore
    from application.errors import IdempotencyKeyTaken
    from tests.builders import entry

    async def main() -> None:
        store = await SqliteStore.open(Path(sys.argv[1]), busy_timeout_ms=5000,
                                       ttl_sweep_seconds=3600)
        print("ready", flush=True)
        sys.stdin.readline()  # the start: both processes are open and waiting
        # One add at a time, the other process going the other way: they meet on a key.
        order = range(KEYS) if NAME == "a" else reversed(range(KEYS))
        for i in order:
            try:
                await store.entries.add(entry(entry_id=f"{NAME}{i:023x}", idempotency_key=f"k{i}"))
            except IdempotencyKeyTaken as taken:
                print("taken" if taken.key == f"k{i}" else repr(taken), flush=True)
            else:
                print("stored", flush=True)
        await store.close()

    KEYS, NAME = int(sys.argv[2]), sys.argv[3]
    asyncio.run(main())
    """
)


async def test_two_processes_adding_one_key_at_once_store_it_once(db_path: Path) -> None:
    keys = 200
    await (await open_store(db_path)).close()  # created before the race
    racers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            RACER,
            str(db_path),
            str(keys),
            name,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for name in ("a", "b")
    ]
    for racer in racers:
        assert racer.stdout is not None
        assert await racer.stdout.readline() == b"ready\n"
    for racer in racers:
        assert racer.stdin is not None
        racer.stdin.write(b"go\n")
        await racer.stdin.drain()
    outputs = [(await racer.communicate())[0].decode().split() for racer in racers]

    assert [racer.returncode for racer in racers] == [0, 0]
    assert sorted(outputs[0] + outputs[1]) == ["stored"] * keys + ["taken"] * keys
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute(
            "SELECT idempotency_key, count(*) FROM entries GROUP BY idempotency_key"
        ).fetchall()
    assert sorted(stored) == sorted((f"k{i}", 1) for i in range(keys))

"""Two processes on one file (WAL): both write and read, nothing is lost, and the sealer's
lease has one holder at a time."""

import asyncio
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

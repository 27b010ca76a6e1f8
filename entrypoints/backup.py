"""`auditlog-backup`: copy the embedded store's data directory while the service runs.

    auditlog-backup /backups/auditlog-20261201

writes a new data directory: a consistent copy of the database (SQLite's `VACUUM INTO`, one
read transaction, so the server goes on writing beside it) and the secrets kept beside it, so
that links and seals stay valid. To restore, start the server with `AUDITLOG_DATA_DIR` set to
that directory (or move its files into place). It reads the same AUDITLOG_ variables as the
server. Exit status: 0 when the copy is whole; 2 when it cannot be made (the store is not the
embedded one, the target exists, the source cannot be read), with one line saying why.
"""

import argparse
import asyncio
import functools
import sys
from pathlib import Path

from adapters.outbound.data_dir import DATABASE_FILE, DataDirectory, DataDirError
from adapters.outbound.sqlite.store import SqliteStore, StoreUnreachable
from application.errors import StoreUnavailable
from entrypoints import config
from entrypoints.config import ConfigError
from entrypoints.settings import Settings, SettingsError

KEPT_SECRETS = ("operator-token", "export-signing-key", "seal-signing-key")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="auditlog-backup", description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="a directory that does not exist yet")
    arguments = parser.parse_args(argv)
    try:
        backup(Settings.from_env(), arguments.target)
    except (SettingsError, ConfigError, DataDirError, StoreUnreachable, FileExistsError) as exc:
        print(f"auditlog-backup: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailable:
        print("auditlog-backup: the database could not be read; the copy is not usable",
              file=sys.stderr)  # fmt: skip
        return 2
    print(f"auditlog-backup: wrote {arguments.target}")
    return 0


def backup(settings: Settings, target: Path) -> None:
    """Copy the database and the kept secrets of the data directory into `target`."""
    if config.store_kind(settings) != "sqlite":
        raise ConfigError("only the embedded SQLite store is backed up this way")
    source = config.data_directory(settings)
    if not source.database.exists():
        raise ConfigError(f"AUDITLOG_DATA_DIR: {source.database} does not exist")
    if target.exists():
        raise FileExistsError(f"{target} exists already: give a new directory")
    copy = DataDirectory(target)
    copy.ensure()
    asyncio.run(_copy_database(settings, source.database, target / DATABASE_FILE))
    for name in KEPT_SECRETS:
        if (source.path / name).exists():
            value, _ = source.secret(name, _never)
            copy.secret(name, functools.partial(str, value))


async def _copy_database(settings: Settings, database: Path, target: Path) -> None:
    store = await SqliteStore.open(
        database,
        busy_timeout_ms=settings.store.sqlite_busy_timeout_ms,
        ttl_sweep_seconds=settings.store.embedded_ttl_sweep_seconds,
    )
    try:
        await store.backup(target)
    finally:
        await store.close()


def _never() -> str:
    raise DataDirError("a kept secret vanished while it was copied")


if __name__ == "__main__":
    sys.exit(main())

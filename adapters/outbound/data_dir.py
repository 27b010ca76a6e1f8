"""The embedded mode's data directory: the database file and the secrets made at first start.

The directory is created with mode 0700 and each secret file with 0600, written once
(exclusively, then fsynced) and read back on every later start, so that seals still verify,
links still work and the operator keeps their token across restarts. A secret file that is
not what this service wrote -- readable by others, not a regular file, or not of the shape
the secret has -- stops the server with a line naming the file, never its content.
"""

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

DATABASE_FILE = "auditlog.sqlite3"
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,256}")


class DataDirError(Exception):
    """The data directory or a file in it cannot be used; the message is safe to print."""


class DataDirectory:
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def database(self) -> Path:
        return self.path / DATABASE_FILE

    def ensure(self) -> None:
        """Create the directory (0700) if absent; refuse one others may read or write."""
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = self.path.stat()
        except OSError as exc:
            raise DataDirError(f"cannot create {self.path} ({exc.strerror})") from None
        if not stat.S_ISDIR(info.st_mode):
            raise DataDirError(f"{self.path} is not a directory")
        if info.st_mode & 0o077:
            raise DataDirError(
                f"{self.path} is open to other users (mode {stat.S_IMODE(info.st_mode):o}): "
                f"it holds the audit trail and the service's secrets; chmod 700 {self.path}"
            )

    def secret(self, name: str, make: Callable[[], str]) -> tuple[str, bool]:
        """The secret kept in `name`, made with `make` and kept if there is none yet; True
        when it was made now."""
        file = self.path / name
        try:
            value = self._read(file)
        except FileNotFoundError:
            value = make()
            if not _SECRET_SHAPE.fullmatch(value):
                raise ValueError("a made secret must have the shape of a kept one") from None
            if self._write(file, value):
                return value, True
            value = self._read(file)  # another process made it first: use theirs
        return value, False

    def _read(self, file: Path) -> str:
        try:
            descriptor = os.open(file, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise DataDirError(f"cannot read {file} ({exc.strerror})") from None
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise DataDirError(f"{file} is not a regular file")
            if info.st_mode & 0o077:
                raise DataDirError(
                    f"{file} is open to other users (mode {stat.S_IMODE(info.st_mode):o}); "
                    f"chmod 600 {file}, and replace the secret if others could have read it"
                )
            raw = handle.read(1024)
        try:
            value = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            value = ""
        if not _SECRET_SHAPE.fullmatch(value):
            raise DataDirError(f"{file} does not hold a secret this service wrote")
        return value

    def _write(self, file: Path, value: str) -> bool:
        """Write the secret if the file does not exist yet; False if it does. Written whole
        under a temporary name, then linked into place: a process starting beside this one
        sees no file or the whole secret, never half of it."""
        draft = file.with_name(f".{file.name}.{os.getpid()}.draft")
        try:
            descriptor = os.open(
                draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600
            )
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(value.encode("ascii") + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(draft, file)
            except FileExistsError:
                return False
            finally:
                draft.unlink(missing_ok=True)
        except OSError as exc:
            raise DataDirError(f"cannot write {file} ({exc.strerror})") from None
        _sync_directory(self.path)
        return True


def _sync_directory(path: Path) -> None:
    """Make a new file's name durable too (a power cut could otherwise lose the entry)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

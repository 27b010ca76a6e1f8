"""auditlog-server collects garbage less often than Python's default (entrypoints.main)."""

import gc
from collections.abc import Iterator

import pytest

from entrypoints import main as server


@pytest.fixture(autouse=True)
def thresholds_restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_tuning_sets_the_serving_thresholds() -> None:
    gc.set_threshold(700, 10, 10)
    server.tune_garbage_collection()
    assert gc.get_threshold() == server.GC_THRESHOLDS
    assert server.GC_THRESHOLDS[0] > 700


def test_the_server_tunes_the_collector_before_it_serves(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    seen: list[tuple[int, int, int]] = []

    async def serve(*_: object) -> int:
        seen.append(gc.get_threshold())
        return 0

    gc.set_threshold(700, 10, 10)
    monkeypatch.setenv("AUDITLOG_STORE", "memory")
    monkeypatch.setenv("AUDITLOG_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(server, "_serve", serve)
    monkeypatch.setattr(server, "configure_logging", lambda **_: None)  # this process's logs
    assert server.main() == 0
    assert seen == [server.GC_THRESHOLDS]

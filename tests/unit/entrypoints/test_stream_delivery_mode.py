"""AUDITLOG_STREAM_DELIVERY: a process of its own wherever another process can open the
store, the server's loop otherwise; and what the server accepts from that process."""

import logging
from dataclasses import replace
from typing import Any

import pytest

from domain.streams import StreamKind
from entrypoints import streaming
from entrypoints.config import ConfigError
from entrypoints.settings import Settings, StoreSettings, StreamSettings
from entrypoints.stream_process import DeliveryProcess
from tests.adapters.streams.receivers import stream
from tests.configs import default_settings
from tests.fakes import InMemoryLogStreams


def configured(delivery: str, **store: Any) -> Settings:
    return replace(
        default_settings(),
        store=StoreSettings.model_construct(**store),
        streams=StreamSettings.model_construct(delivery=delivery),
    )


@pytest.mark.parametrize(
    ("store", "overridden", "expected"),
    [
        ({}, False, "process"),
        ({"store": "sqlite"}, False, "process"),
        ({"mongodb_uri": "mongodb://db.example/"}, False, "process"),
        ({"store": "memory"}, False, "inline"),
        ({}, True, "inline"),  # stores or a clock given in code: only this loop sees them
    ],
)
def test_auto_delivers_from_a_process_where_another_process_can_open_the_store(
    store: dict[str, Any], overridden: bool, expected: str
) -> None:
    settings = configured("auto", **store)

    assert streaming.delivery_mode(settings, overridden=overridden) == expected


@pytest.mark.parametrize("asked", ["inline", "off", "process"])
def test_what_is_asked_is_what_runs(asked: str) -> None:
    assert streaming.delivery_mode(configured(asked), overridden=False) == asked


def test_a_process_on_the_in_memory_store_is_refused_naming_the_settings() -> None:
    with pytest.raises(ConfigError, match=r"AUDITLOG_STREAM_DELIVERY=process.*AUDITLOG_STORE"):
        streaming.delivery_mode(configured("process", store="memory"), overridden=False)


class Counted:
    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def stream_delivered(self, kind: str, entries: int) -> None:
        self.seen.append(("delivered", kind, entries))

    def stream_failed(self, kind: str, code: str) -> None:
        self.seen.append(("failed", kind, code))

    def stream_lag(self, seconds: float) -> None:
        self.seen.append(("lag", seconds))


def supervisor(counted: Counted) -> DeliveryProcess:
    return DeliveryProcess(
        default_settings(), owner="here", streams=InMemoryLogStreams(), telemetry=counted
    )


def test_the_processs_reports_reach_the_servers_telemetry() -> None:
    counted = Counted()
    process = supervisor(counted)

    for report in (["delivered", "WEBHOOK", 100], ["failed", "SYSLOG", "HTTP_503"], ["lag", 2]):
        process._apply(report)

    assert counted.seen == [
        ("delivered", "WEBHOOK", 100),
        ("failed", "SYSLOG", "HTTP_503"),
        ("lag", 2.0),
    ]


@pytest.mark.parametrize(
    "report",
    [
        ["delivered", "FTP", 1],  # no such kind: no label of its own in the metrics
        ["delivered", "WEBHOOK", -1],
        ["delivered", "WEBHOOK", "1"],
        ["failed", "WEBHOOK", "a response body"],
        ["lag", -1],
        ["lag", "1"],
        ["unknown", 1],
        {"delivered": 1},
    ],
)
def test_a_report_the_server_cannot_read_is_refused_and_counts_nothing(report: Any) -> None:
    counted = Counted()

    with pytest.raises(ValueError, match="unknown report"):
        supervisor(counted)._apply(report)
    assert counted.seen == []


async def test_a_process_that_cannot_start_is_tried_again_after_a_backoff_not_every_look(
    caplog: pytest.LogCaptureFixture,
) -> None:
    streams = InMemoryLogStreams()
    await streams.add(stream(StreamKind.WEBHOOK, "https://siem.example.com/in"))
    process = DeliveryProcess(
        default_settings(), owner="here", streams=streams, telemetry=Counted(),
        command=("/nonexistent/python",),
    )  # fmt: skip

    with caplog.at_level(logging.WARNING, logger="auditlog"):
        await process.check()
        await process.check()  # at once again: still waiting

    assert process.starts == 0
    assert [r.getMessage() for r in caplog.records if "could not start" in r.getMessage()] == [
        "the log stream delivery process could not start (FileNotFoundError); trying again in 1 s"
    ]

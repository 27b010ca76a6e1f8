"""AUDITLOG_STREAM_LEASE_SECONDS: how long a stream stays with an instance that stopped
answering; it must outlast a send, and a delivery turn fits inside it."""

from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import ValidationError

from adapters.outbound.streams import StreamSenders
from entrypoints import streaming
from entrypoints.settings import SettingsError, StreamSettings, _load
from tests.configs import default_settings
from tests.fakes import InMemoryLogStreams


def test_a_lease_shorter_than_two_send_timeouts_is_refused_naming_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUDITLOG_STREAM_LEASE_SECONDS", "19")

    with pytest.raises(SettingsError) as refused:
        _load(StreamSettings)

    message = str(refused.value)
    assert "AUDITLOG_STREAM_LEASE_SECONDS" in message
    assert "AUDITLOG_STREAM_SEND_TIMEOUT_SECONDS" in message


def test_a_short_lease_with_a_short_send_timeout_is_accepted() -> None:
    assert StreamSettings(lease_seconds=4, send_timeout_seconds=2).lease_seconds == 4
    with pytest.raises(ValidationError):
        StreamSettings(lease_seconds=3, send_timeout_seconds=2)


@pytest.mark.parametrize(
    ("lease", "send", "turn"), [(60, 10, timedelta(seconds=10)), (8, 2, timedelta(seconds=2))]
)
def test_the_delivery_turn_is_a_quarter_of_the_lease_at_most_ten_seconds(
    lease: int, send: float, turn: timedelta
) -> None:
    settings = replace(
        default_settings(),
        streams=StreamSettings.model_construct(lease_seconds=lease, send_timeout_seconds=send),
    )
    wired = streaming.wiring(
        settings,
        InMemoryLogStreams(),
        secrets_key="k" * 32,
        settle=timedelta(seconds=1),
        outbound=StreamSenders({}, network=None),  # type: ignore[arg-type]
        telemetry=None,
    )

    assert wired.delivery.lease == timedelta(seconds=lease)
    assert wired.delivery.turn == turn

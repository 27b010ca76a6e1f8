"""AUDITLOG_WITNESS_URLS: HTTPS, or HTTP on loopback only; no credentials, query or
fragment; and a refusal that never quotes what was given."""

import pytest
from pydantic import ValidationError

from entrypoints.settings import Settings, SettingsError
from entrypoints.witness_settings import WitnessSettings


def test_no_witness_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITLOG_WITNESS_URLS", raising=False)

    assert WitnessSettings().base_urls == ()


def test_https_anywhere_and_http_on_loopback_are_witnesses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "AUDITLOG_WITNESS_URLS",
        " https://witness.example/ ,http://127.0.0.1:8700,http://[::1]:8700/w,"
        "http://localhost:8700,https://witness.example",
    )

    assert WitnessSettings().base_urls == (
        "https://witness.example",
        "http://127.0.0.1:8700",
        "http://[::1]:8700/w",
        "http://localhost:8700",
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://witness.example",
        "http://127.0.0.2:8700",
        "ftp://127.0.0.1",
        "https://user:s3cret-pw@witness.example",
        "https://witness.example/?token=s3cret-pw",
        "https://witness.example/#s3cret-pw",
        "https://witness.example:99999",
        "witness.example",
        "https://",
    ],
)
def test_anything_else_is_refused_without_quoting_it(url: str) -> None:
    with pytest.raises(ValidationError) as raised:
        WitnessSettings(urls=f"https://ok.example,{url}")

    # What the service prints of a refused setting (entrypoints/settings.py `_load`).
    [message] = [error["msg"] for error in raised.value.errors()]
    assert "must be an https:// URL" in message
    assert "s3cret-pw" not in message


def test_the_service_refuses_to_start_naming_the_variable_not_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUDITLOG_WITNESS_URLS", "http://user:s3cret-pw@witness.example")

    with pytest.raises(SettingsError) as raised:
        Settings.from_env()

    assert "AUDITLOG_WITNESS_URLS: Value error, each entry must be" in str(raised.value)
    assert "s3cret-pw" not in str(raised.value)

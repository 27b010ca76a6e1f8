"""Which store serves, and where the embedded store keeps the secrets it made.

A MongoDB URI selects MongoDB; otherwise AUDITLOG_STORE, by default the embedded SQLite store
in AUDITLOG_DATA_DIR. The secrets it makes at first start are kept there and reused."""

import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from entrypoints import bootstrap, config
from entrypoints.config import ConfigError
from entrypoints.settings import Settings, StoreSettings
from tests.configs import default_settings

URI = SecretStr("mongodb://db.internal:27017")


def with_store(**store: object) -> Settings:
    settings = default_settings()
    return replace(settings, store=StoreSettings.model_construct(**store))


def embedded(data_dir: Path) -> Settings:
    return with_store(data_dir=data_dir)


def test_with_nothing_set_the_embedded_sqlite_store_serves() -> None:
    assert config.store_kind(default_settings()) == "sqlite"
    assert StoreSettings.model_construct().data_dir == Path("data")


def test_a_mongodb_uri_selects_mongodb() -> None:
    assert config.store_kind(with_store(mongodb_uri=URI)) == "mongodb"


def test_the_in_memory_store_is_chosen_by_name() -> None:
    assert config.store_kind(with_store(store="memory")) == "memory"


@pytest.mark.parametrize("store", ["sqlite", "memory"])
def test_a_store_named_beside_a_mongodb_uri_stops_the_server_naming_both(store: str) -> None:
    with pytest.raises(ConfigError) as refused:
        config.store_kind(with_store(store=store, mongodb_uri=URI))
    assert f"AUDITLOG_STORE={store}" in str(refused.value)
    assert "AUDITLOG_MONGODB_URI" in str(refused.value)
    assert "db.internal" not in str(refused.value)


def test_an_unknown_store_name_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUDITLOG_STORE", "postgres")
    with pytest.raises(Exception, match="AUDITLOG_STORE"):
        Settings.from_env()


def test_the_data_directory_is_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bootstrap.secrets_of(embedded(data))
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_the_secrets_made_at_first_start_are_kept_and_reused(tmp_path: Path) -> None:
    first = bootstrap.secrets_of(embedded(tmp_path / "data"))
    again = bootstrap.secrets_of(embedded(tmp_path / "data"))

    assert first.operator_token.made_now
    assert not again.operator_token.made_now
    assert again.operator_token.value == first.operator_token.value
    assert again.export_signing_key == first.export_signing_key
    assert again.seal_keys.key_id == first.seal_keys.key_id
    assert first.operator_token.kept_in == tmp_path / "data" / "operator-token"
    for name in ("operator-token", "export-signing-key", "seal-signing-key"):
        kept = tmp_path / "data" / name
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600, name


def test_a_secret_set_in_the_environment_wins_and_nothing_is_written(tmp_path: Path) -> None:
    settings = embedded(tmp_path / "data")
    token = "an-operator-token-chosen-by-the-operator"
    settings = replace(settings, access=settings.access.model_copy(
        update={"operator_token": SecretStr(token)}))  # fmt: skip

    secrets = bootstrap.secrets_of(settings)

    assert secrets.operator_token.value == token
    assert not secrets.operator_token.made_now
    assert not (tmp_path / "data" / "operator-token").exists()


def test_the_in_memory_store_makes_its_secrets_for_one_run(tmp_path: Path) -> None:
    settings = with_store(store="memory", data_dir=tmp_path / "data")
    first, again = bootstrap.secrets_of(settings), bootstrap.secrets_of(settings)
    assert first.operator_token.value != again.operator_token.value
    assert first.operator_token.kept_in is None
    assert not (tmp_path / "data").exists()


def test_every_kept_secret_is_one_the_logs_redact(tmp_path: Path) -> None:
    secrets = bootstrap.secrets_of(embedded(tmp_path / "data"))
    seal_seed = (tmp_path / "data" / "seal-signing-key").read_text().strip()
    for value in (secrets.operator_token.value, secrets.export_signing_key, seal_seed):
        assert secrets.known.contains(f"said {value} here"), "a kept secret must be redacted"


def test_a_secret_file_others_can_read_stops_the_server_naming_it(tmp_path: Path) -> None:
    bootstrap.secrets_of(embedded(tmp_path / "data"))
    kept = tmp_path / "data" / "export-signing-key"
    kept.chmod(0o644)

    with pytest.raises(ConfigError) as refused:
        bootstrap.secrets_of(embedded(tmp_path / "data"))
    assert "export-signing-key" in str(refused.value)
    assert "chmod 600" in str(refused.value)


def test_a_secret_file_edited_into_something_else_is_refused_without_quoting_it(
    tmp_path: Path,
) -> None:
    bootstrap.secrets_of(embedded(tmp_path / "data"))
    kept = tmp_path / "data" / "operator-token"
    kept.write_text("short secret with spaces\n")

    with pytest.raises(ConfigError) as refused:
        bootstrap.secrets_of(embedded(tmp_path / "data"))
    assert "operator-token" in str(refused.value)
    assert "short secret" not in str(refused.value)


def test_a_secret_file_replaced_by_a_link_is_refused(tmp_path: Path) -> None:
    bootstrap.secrets_of(embedded(tmp_path / "data"))
    kept = tmp_path / "data" / "operator-token"
    elsewhere = tmp_path / "chosen-by-someone-else"
    elsewhere.write_text("x" * 43 + "\n")
    elsewhere.chmod(0o600)
    kept.unlink()
    kept.symlink_to(elsewhere)

    with pytest.raises(ConfigError, match="operator-token"):
        bootstrap.secrets_of(embedded(tmp_path / "data"))


def test_a_data_directory_open_to_others_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # noqa: S103 - the point of the test

    with pytest.raises(ConfigError) as refused:
        bootstrap.secrets_of(embedded(data))
    assert "AUDITLOG_DATA_DIR" in str(refused.value)
    assert "chmod 700" in str(refused.value)

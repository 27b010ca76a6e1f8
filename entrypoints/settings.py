"""Settings from the environment, one class per concern, all under the `AUDITLOG_` prefix."""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_OPERATOR_TOKEN_LENGTH = 24


def _config() -> SettingsConfigDict:
    # An empty variable means "not set", as shells and compose files usually intend.
    return SettingsConfigDict(env_prefix="AUDITLOG_", env_ignore_empty=True, extra="ignore")


class ServerSettings(BaseSettings):
    model_config = _config()

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class StoreSettings(BaseSettings):
    model_config = _config()

    mongodb_uri: SecretStr | None = None
    """Unset: the embedded in-memory store. The URI may hold a password, so it is secret."""
    mongodb_db: str = Field(default="auditlog", pattern=r"^[A-Za-z0-9_-]{1,63}$")
    mongodb_server_selection_timeout_ms: int = Field(default=5_000, ge=100, le=120_000)
    mongodb_socket_timeout_ms: int = Field(default=30_000, ge=100, le=600_000)
    embedded_ttl_sweep_seconds: float = Field(default=60.0, gt=0, le=86_400)
    """How often the embedded store deletes expired entries (MongoDB's TTL monitor: 60 s)."""


class AccessSettings(BaseSettings):
    model_config = _config()

    operator_token: SecretStr | None = Field(default=None, min_length=MIN_OPERATOR_TOKEN_LENGTH)
    plans_file: Path | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    server: ServerSettings
    store: StoreSettings
    access: AccessSettings

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(server=ServerSettings(), store=StoreSettings(), access=AccessSettings())

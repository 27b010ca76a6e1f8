"""`AUDITLOG_WITNESS_URLS`: the witnesses (`auditlog-witness`) the sealer's checkpoints are
pushed to. Read with the other settings (entrypoints/settings.py)."""

from urllib.parse import urlsplit

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class WitnessSettings(BaseSettings):
    # As every concern's (entrypoints/settings.py `_config`): an empty variable is unset.
    model_config = SettingsConfigDict(
        env_prefix="AUDITLOG_WITNESS_", env_ignore_empty=True, extra="ignore"
    )

    urls: str = ""
    """Comma-separated base URLs of witnesses; empty: none. HTTPS, except on loopback (a
    witness beside the service); no credentials, query or fragment (a URL names its witness
    in logs)."""

    @field_validator("urls")
    @classmethod
    def _urls_are_witnesses(cls, value: str) -> str:
        urls: list[str] = []
        for entry in (entry.strip() for entry in value.split(",")):
            if entry:
                url = _witness_url(entry)
                if url not in urls:
                    urls.append(url)
        return ",".join(urls)

    @property
    def base_urls(self) -> tuple[str, ...]:
        return tuple(self.urls.split(",")) if self.urls else ()


def _witness_url(entry: str) -> str:
    # The message quotes no entry: a URL with a password in it must not reach a log.
    problem = ValueError(
        "each entry must be an https:// URL (http:// only on 127.0.0.1, ::1 or localhost) "
        "without credentials, query or fragment"
    )
    try:
        parts = urlsplit(entry)
        parts.port  # noqa: B018 -- raises on a port that is not a number in range
    except ValueError:
        raise problem from None
    host = parts.hostname
    if (
        not host
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
        or entry.endswith(("?", "#"))
        or not (parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS))
    ):
        raise problem
    return entry.rstrip("/")

"""A caller's X-Request-ID is used only when it is a plain id that holds no secret."""

from adapters.observability.context import request_id_from
from domain.credentials import KnownSecrets

TOKEN = "correct-horse-battery-staple-2026"
API_KEY = "alk_9f86d081884c7d65_QE9FQWK6wMY95kQareXrrzT9SJWGrCUqmvg1TLL2NgQ"


def test_a_plain_request_id_is_kept() -> None:
    assert request_id_from("req-123.abc:9", KnownSecrets(TOKEN)) == "req-123.abc:9"


def test_a_request_id_holding_a_known_secret_is_replaced() -> None:
    assert request_id_from(f"x-{TOKEN.upper()}", KnownSecrets(TOKEN)) != f"x-{TOKEN.upper()}"


def test_a_credential_shaped_request_id_is_replaced() -> None:
    assert request_id_from(API_KEY) != API_KEY

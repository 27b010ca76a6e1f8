"""Issuing and revoking API keys: operator only, secret shown once, only its hash kept."""

import re
from dataclasses import fields

import pytest

from application.access.principal import Principal
from application.errors import Forbidden, NotFound
from application.services import Services
from domain.errors import InvalidField
from domain.tenancy import ApiKey, Scope, hash_secret, key_id_of
from tests.fakes import FakeClock, InMemoryApiKeys
from tests.unit.application.support import KeyFactory

pytestmark = pytest.mark.usefixtures("tenants")

SECRET_SHAPE = re.compile(r"alk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
READ = frozenset({Scope.READ})


async def issue(
    services: Services,
    principal: Principal,
    account: str = "acme",
    application: str | None = None,
    scopes: frozenset[Scope] = READ,
) -> tuple[ApiKey, str]:
    issued = await services.administration.issue_api_key.execute(
        principal, account_id=account, application_id=application, scopes=scopes
    )
    return issued.key, issued.secret


async def test_issued_key_is_stored_with_its_binding_scopes_and_issue_time(
    services: Services, operator: Principal, keys: InMemoryApiKeys, clock: FakeClock
) -> None:
    scopes = frozenset({Scope.RECORD, Scope.READ})
    key, _ = await issue(services, operator, "acme", "acme-web", scopes)
    assert keys.keys == {key.id: key}
    assert (key.account, key.application, key.scopes, key.revoked) == (
        "acme",
        "acme-web",
        scopes,
        False,
    )
    assert key.created_at == clock.now()


async def test_secret_is_returned_in_the_alk_format_carrying_the_key_id(
    services: Services, operator: Principal
) -> None:
    key, secret = await issue(services, operator)
    match = SECRET_SHAPE.fullmatch(secret)
    assert match is not None
    assert match.group(1) == key.id == key_id_of(secret)
    assert len(match.group(2)) == 43


async def test_only_the_hash_of_the_secret_is_stored(
    services: Services, operator: Principal, keys: InMemoryApiKeys
) -> None:
    key, secret = await issue(services, operator)
    stored = keys.keys[key.id]
    assert stored.secret_hash == hash_secret(secret)
    assert stored.secret_hash != secret
    token = SECRET_SHAPE.fullmatch(secret).group(2)  # type: ignore[union-attr]
    for field in fields(ApiKey):
        text = str(getattr(stored, field.name))
        assert secret not in text
        assert token not in text


async def test_every_issued_secret_is_fresh(services: Services, operator: Principal) -> None:
    issued = [await issue(services, operator) for _ in range(20)]
    secrets = {secret for _, secret in issued}
    tokens = {SECRET_SHAPE.fullmatch(s).group(2) for s in secrets}  # type: ignore[union-attr]
    assert len(secrets) == len(tokens) == 20
    assert len({key.id for key, _ in issued}) == 20


async def test_issuing_a_key_without_scopes_is_rejected_and_nothing_is_stored(
    services: Services, operator: Principal, keys: InMemoryApiKeys
) -> None:
    with pytest.raises(InvalidField) as raised:
        await issue(services, operator, scopes=frozenset())
    assert raised.value.field == "scopes"
    assert keys.keys == {}


@pytest.mark.parametrize(
    ("account", "application"),
    [("acme", "globex-web"), ("acme", "no-such-app"), ("nobody", None), ("nobody", "acme-web")],
)
async def test_issuing_a_key_outside_an_existing_account_and_its_applications_is_not_found(
    services: Services,
    operator: Principal,
    keys: InMemoryApiKeys,
    account: str,
    application: str | None,
) -> None:
    with pytest.raises(NotFound):
        await issue(services, operator, account, application)
    assert keys.keys == {}


async def test_operator_revokes_a_key(
    services: Services, operator: Principal, keys: InMemoryApiKeys
) -> None:
    key, _ = await issue(services, operator)
    revoked = await services.administration.revoke_api_key.execute(operator, key_id=key.id)
    assert revoked.revoked is True
    assert keys.keys[key.id].revoked is True


async def test_revoking_an_unknown_key_is_not_found(
    services: Services, operator: Principal
) -> None:
    with pytest.raises(NotFound):
        await services.administration.revoke_api_key.execute(operator, key_id="0123456789abcdef")


async def test_an_api_key_may_not_issue_keys(
    services: Services, key_for: KeyFactory, keys: InMemoryApiKeys
) -> None:
    key = await key_for("acme", scopes=list(Scope))
    before = dict(keys.keys)
    with pytest.raises(Forbidden):
        await issue(services, key, scopes=frozenset(Scope))
    assert keys.keys == before


async def test_an_api_key_may_not_revoke_keys_even_its_own(
    services: Services, key_for: KeyFactory, keys: InMemoryApiKeys
) -> None:
    key = await key_for("acme", scopes=list(Scope))
    assert key.key_id is not None
    with pytest.raises(Forbidden):
        await services.administration.revoke_api_key.execute(key, key_id=key.key_id)
    assert keys.keys[key.key_id].revoked is False

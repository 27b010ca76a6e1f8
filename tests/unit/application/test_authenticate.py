"""Authentication: the operator token or a live key's exact secret; nothing else."""

import pytest

from application.access.principal import KeyHolder, Operator, Principal
from application.errors import Unauthenticated
from application.services import Services
from domain.tenancy import Scope, compose_secret
from tests.unit.application.support import OPERATOR_TOKEN

pytestmark = pytest.mark.usefixtures("tenants")


async def issue_secret(
    services: Services, operator: Principal, application: str | None = "acme-web"
) -> tuple[str, str]:
    issued = await services.administration.issue_api_key.execute(
        operator,
        account_id="acme",
        application_id=application,
        scopes=frozenset({Scope.RECORD, Scope.READ}),
    )
    return issued.key.id, issued.secret


@pytest.mark.parametrize("secret", [None, ""])
async def test_missing_credentials_are_unauthenticated(
    services: Services, secret: str | None
) -> None:
    with pytest.raises(Unauthenticated):
        await services.access.authenticate.execute(secret)


async def test_operator_token_authenticates_as_the_operator(services: Services) -> None:
    principal = await services.access.authenticate.execute(OPERATOR_TOKEN)
    assert principal == Operator()
    assert principal.scopes == frozenset(Scope)


@pytest.mark.parametrize("application", ["acme-web", None])
async def test_key_secret_authenticates_as_that_keys_tenant_and_scopes(
    services: Services, operator: Principal, application: str | None
) -> None:
    key_id, secret = await issue_secret(services, operator, application)
    principal = await services.access.authenticate.execute(secret)
    assert principal == KeyHolder(
        key_id=key_id,
        account="acme",
        application=application,
        scopes=frozenset({Scope.RECORD, Scope.READ}),
    )


async def test_revoked_key_is_unauthenticated(services: Services, operator: Principal) -> None:
    key_id, secret = await issue_secret(services, operator)
    await services.administration.revoke_api_key.execute(operator, key_id=key_id)
    with pytest.raises(Unauthenticated):
        await services.access.authenticate.execute(secret)


async def test_wrong_secret_for_a_real_key_id_is_unauthenticated(
    services: Services, operator: Principal
) -> None:
    key_id, secret = await issue_secret(services, operator)
    forged = compose_secret(key_id, "A" * 43)
    assert forged != secret
    with pytest.raises(Unauthenticated):
        await services.access.authenticate.execute(forged)


async def test_secret_of_one_key_does_not_open_another_key(
    services: Services, operator: Principal
) -> None:
    first_id, _ = await issue_secret(services, operator)
    _, second_secret = await issue_secret(services, operator)
    second_token = second_secret[len("alk_0123456789abcdef_") :]
    assert len(second_token) == 43
    spliced = compose_secret(first_id, second_token)
    with pytest.raises(Unauthenticated):
        await services.access.authenticate.execute(spliced)


async def test_well_formed_secret_of_an_unknown_key_is_unauthenticated(
    services: Services,
) -> None:
    with pytest.raises(Unauthenticated):
        await services.access.authenticate.execute(compose_secret("0123456789abcdef", "A" * 43))


@pytest.mark.parametrize(
    "malformed",
    [
        "Bearer " + OPERATOR_TOKEN,
        OPERATOR_TOKEN + "x",
        OPERATOR_TOKEN[:-1],
        OPERATOR_TOKEN.upper(),
        " " + OPERATOR_TOKEN,
        "alk_",
        "alk_123_abc",
        "garbage",
        "é",
    ],
)
async def test_malformed_credentials_are_unauthenticated(
    services: Services, malformed: str
) -> None:
    with pytest.raises(Unauthenticated):
        await services.access.authenticate.execute(malformed)


async def test_key_secret_with_anything_appended_is_unauthenticated(
    services: Services, operator: Principal
) -> None:
    _, secret = await issue_secret(services, operator)
    for variant in (secret + "\n", secret + "A", " " + secret, secret[:-1]):
        with pytest.raises(Unauthenticated):
            await services.access.authenticate.execute(variant)

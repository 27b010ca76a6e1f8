"""The directory ports' contract (accounts, applications, API keys): read back as added, an id
taken once, a plan change and a revocation seen by later reads, and nothing made by changing
what does not exist."""

from datetime import UTC, datetime

import pytest

from application.errors import Conflict
from domain.tenancy import Account, ApiKey, Application, Scope, hash_secret
from tests.stores import Store

CREATED = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def api_key(
    key_id: str = "0123456789abcdef",
    *,
    application: str | None = "portal",
    scopes: frozenset[Scope] = frozenset({Scope.RECORD, Scope.READ}),
) -> ApiKey:
    return ApiKey(
        id=key_id,
        account="acme",
        application=application,
        scopes=scopes,
        secret_hash=hash_secret(f"alk_{key_id}_secret"),
        revoked=False,
        created_at=CREATED,
    )


async def test_an_account_reads_back_as_it_was_added(store: Store) -> None:
    account = Account(id="acme", name="Acme Corp", plan="pro")

    await store.accounts.add(account)

    assert await store.accounts.get("acme") == account


async def test_an_unknown_account_is_none(store: Store) -> None:
    await store.accounts.add(Account(id="acme", name="Acme Corp", plan="pro"))

    assert await store.accounts.get("globex") is None


async def test_adding_an_existing_account_id_is_a_conflict_and_keeps_the_original(
    store: Store,
) -> None:
    original = Account(id="acme", name="Acme Corp", plan="pro")
    await store.accounts.add(original)

    with pytest.raises(Conflict) as raised:
        await store.accounts.add(Account(id="acme", name="Impostor", plan="enterprise"))

    assert (raised.value.kind, raised.value.ident) == ("account", "acme")
    assert await store.accounts.get("acme") == original


async def test_set_plan_returns_the_updated_account_and_later_reads_see_it(
    store: Store,
) -> None:
    await store.accounts.add(Account(id="acme", name="Acme Corp", plan="free"))
    await store.accounts.add(Account(id="globex", name="Globex", plan="free"))

    updated = await store.accounts.set_plan("acme", "enterprise")

    expected = Account(id="acme", name="Acme Corp", plan="enterprise")
    assert updated == expected
    assert await store.accounts.get("acme") == expected
    assert await store.accounts.get("globex") == Account(id="globex", name="Globex", plan="free")


async def test_set_plan_of_an_unknown_account_is_none_and_creates_nothing(
    store: Store,
) -> None:
    assert await store.accounts.set_plan("ghost", "pro") is None

    assert await store.accounts.get("ghost") is None


async def test_an_application_reads_back_as_it_was_added(store: Store) -> None:
    application = Application(id="portal", account="acme", name="Customer portal")

    await store.applications.add(application)

    assert await store.applications.get("portal") == application


async def test_an_unknown_application_is_none(store: Store) -> None:
    await store.applications.add(Application(id="portal", account="acme", name="Portal"))

    assert await store.applications.get("backoffice") is None


async def test_adding_an_existing_application_id_is_a_conflict_even_under_another_account(
    store: Store,
) -> None:
    original = Application(id="portal", account="acme", name="Portal")
    await store.applications.add(original)

    with pytest.raises(Conflict) as raised:
        await store.applications.add(Application(id="portal", account="globex", name="Other"))

    assert (raised.value.kind, raised.value.ident) == ("application", "portal")
    assert await store.applications.get("portal") == original


@pytest.mark.parametrize(
    ("application", "scopes"),
    [
        ("portal", frozenset({Scope.RECORD})),
        (None, frozenset({Scope.READ, Scope.EXPORT})),
        (None, frozenset(Scope)),
    ],
    ids=["app-bound-record", "account-wide-read-export", "all-scopes"],
)
async def test_an_api_key_reads_back_with_its_scopes_binding_hash_and_creation_time(
    store: Store, application: str | None, scopes: frozenset[Scope]
) -> None:
    key = api_key(application=application, scopes=scopes)

    await store.keys.add(key)
    stored = await store.keys.get(key.id)

    assert stored == key
    assert stored is not None
    assert isinstance(stored.scopes, frozenset)
    assert all(isinstance(scope, Scope) for scope in stored.scopes)
    assert stored.application == application
    assert stored.secret_hash == key.secret_hash
    assert stored.revoked is False
    assert stored.created_at == CREATED
    assert stored.created_at.tzinfo is UTC


async def test_an_unknown_api_key_is_none(store: Store) -> None:
    await store.keys.add(api_key())

    assert await store.keys.get("fedcba9876543210") is None


async def test_adding_an_existing_api_key_id_is_a_conflict(store: Store) -> None:
    original = api_key()
    await store.keys.add(original)

    with pytest.raises(Conflict) as raised:
        await store.keys.add(api_key(original.id, application=None))

    assert (raised.value.kind, raised.value.ident) == ("API key", original.id)
    assert await store.keys.get(original.id) == original


async def test_revoke_returns_the_revoked_key_and_later_reads_see_it_revoked(
    store: Store,
) -> None:
    key = api_key()
    other = api_key("fedcba9876543210")
    await store.keys.add(key)
    await store.keys.add(other)

    revoked = await store.keys.revoke(key.id)

    assert revoked == key.revoke()
    assert await store.keys.get(key.id) == key.revoke()
    assert await store.keys.get(other.id) == other


async def test_revoking_a_revoked_key_again_keeps_it_revoked(store: Store) -> None:
    key = api_key()
    await store.keys.add(key)
    await store.keys.revoke(key.id)

    again = await store.keys.revoke(key.id)

    assert again == key.revoke()
    assert await store.keys.get(key.id) == key.revoke()


async def test_revoking_an_unknown_key_is_none_and_creates_nothing(store: Store) -> None:
    assert await store.keys.revoke("fedcba9876543210") is None

    assert await store.keys.get("fedcba9876543210") is None

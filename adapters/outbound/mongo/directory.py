"""Accounts, applications and API keys on Beanie."""

from beanie import UpdateResponse

from adapters.outbound.mongo.documents import AccountDocument, ApiKeyDocument, ApplicationDocument
from adapters.outbound.mongo.errors import StoreCalls
from adapters.outbound.mongo.mappers import (
    account_to_document,
    account_to_domain,
    application_to_document,
    application_to_domain,
    key_to_document,
    key_to_domain,
)
from domain.tenancy import Account, ApiKey, Application


class BeanieAccounts:
    def __init__(self, calls: StoreCalls) -> None:
        self._call = calls

    async def add(self, account: Account) -> None:
        async with self._call("account", account.id):
            await account_to_document(account).insert()

    async def get(self, account_id: str) -> Account | None:
        async with self._call():
            document = await AccountDocument.get(account_id)
        return None if document is None else account_to_domain(document)

    async def set_plan(self, account_id: str, plan: str) -> Account | None:
        async with self._call():
            document = await AccountDocument.find_one(AccountDocument.id == account_id).update(
                {"$set": {"plan": plan}}, response_type=UpdateResponse.NEW_DOCUMENT
            )
        return None if document is None else account_to_domain(document)


class BeanieApplications:
    def __init__(self, calls: StoreCalls) -> None:
        self._call = calls

    async def add(self, application: Application) -> None:
        async with self._call("application", application.id):
            await application_to_document(application).insert()

    async def get(self, application_id: str) -> Application | None:
        async with self._call():
            document = await ApplicationDocument.get(application_id)
        return None if document is None else application_to_domain(document)


class BeanieApiKeys:
    def __init__(self, calls: StoreCalls) -> None:
        self._call = calls

    async def add(self, key: ApiKey) -> None:
        async with self._call("API key", key.id):
            await key_to_document(key).insert()

    async def get(self, key_id: str) -> ApiKey | None:
        async with self._call():
            document = await ApiKeyDocument.get(key_id)
        return None if document is None else key_to_domain(document)

    async def revoke(self, key_id: str) -> ApiKey | None:
        async with self._call():
            document = await ApiKeyDocument.find_one(ApiKeyDocument.id == key_id).update(
                {"$set": {"revoked": True}}, response_type=UpdateResponse.NEW_DOCUMENT
            )
        return None if document is None else key_to_domain(document)

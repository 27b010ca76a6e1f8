"""Export link tokens: the grant as JSON, signed with HMAC-SHA256 by itsdangerous.

The token is not encrypted: it shows the filter it carries (the caller's own), and cannot
be altered without the signing key. Every instance must share `AUDITLOG_EXPORT_SIGNING_KEY`
so that a link made by one is accepted by all.
"""

import hashlib
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from application.errors import InvalidExportLink
from application.exporting.grant import ExportFormat, ExportGrant
from application.reading.criteria import filter_document, filter_of_document
from domain.errors import InvalidField

_SALT = "auditlog.export-link.v1"


class SignedExportLinks:
    def __init__(self, signing_key: str) -> None:
        self._serializer = URLSafeSerializer(
            signing_key, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256}
        )

    def seal(self, grant: ExportGrant) -> str:
        return self._serializer.dumps(_to_json(grant))

    def open(self, token: str) -> ExportGrant:
        try:
            return _from_json(self._serializer.loads(token))
        except (BadSignature, InvalidField, KeyError, TypeError, ValueError):
            raise InvalidExportLink() from None


def _to_json(grant: ExportGrant) -> dict[str, Any]:
    return {
        "key": grant.key_id,
        "account": grant.account,
        "format": grant.format.value,
        "expires_at": grant.expires_at.isoformat(),
        "filter": filter_document(grant.filter, datetime.isoformat),
    }


def _from_json(data: dict[str, Any]) -> ExportGrant:
    return ExportGrant(
        key_id=data["key"],
        account=data["account"],
        format=ExportFormat(data["format"]),
        expires_at=datetime.fromisoformat(data["expires_at"]),
        filter=filter_of_document(data["filter"], datetime.fromisoformat),
    )

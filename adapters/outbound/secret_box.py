"""Stream secrets encrypted at rest: Fernet (AES-128-CBC with HMAC-SHA256, from
`cryptography`) under a key derived from AUDITLOG_STREAM_SECRETS_KEY, so a dump of the
database alone reveals no webhook secret and no HEC token."""

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from application.streams.model import SealedSecret
from application.streams.ports import SecretUnreadable

# Fixed: a key of its own purpose, so the same setting could never open something else.
_INFO = b"auditlog log stream secrets v1"


class FernetSecretBox:
    def __init__(self, key_material: str) -> None:
        if len(key_material) < 16:
            raise ValueError("the stream secrets key must be at least 16 characters")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
            key_material.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, secret: str) -> SealedSecret:
        return SealedSecret(self._fernet.encrypt(secret.encode()).decode("ascii"))

    def open(self, sealed: SealedSecret) -> str:
        try:
            return self._fernet.decrypt(sealed.ciphertext.encode("ascii")).decode()
        except (InvalidToken, UnicodeError, ValueError):
            raise SecretUnreadable from None

    def __repr__(self) -> str:
        return "FernetSecretBox(<key hidden>)"

"""Ed25519 keys for seals (the `cryptography` package), and their public JWK set.

`AUDITLOG_SEAL_SIGNING_KEY` is the base64url of a 32-byte Ed25519 private key (seed).
Retired keys stay listed by their public halves (`AUDITLOG_SEAL_PREVIOUS_PUBLIC_KEYS`), so
seals signed before a rotation still verify. A key id is the first 16 hex digits of the
SHA-256 of the raw public key.
"""

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


class SealKeyError(ValueError):
    """A configured key cannot be read."""


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SealKeyError("not base64url") from None


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def new_signing_key() -> str:
    """A fresh private key, as AUDITLOG_SEAL_SIGNING_KEY takes it."""
    return _b64encode(secrets.token_bytes(32))


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    raw: bytes
    current: bool

    def jwk(self) -> dict[str, Any]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": self.key_id,
            "x": _b64encode(self.raw),
            "status": "current" if self.current else "retired",
        }


class Ed25519SealKeys:
    """Signs with the current key; verifies with the current and the retired ones."""

    def __init__(self, signing_key: str, retired_public_keys: tuple[str, ...] = ()) -> None:
        seed = _b64decode(signing_key)
        if len(seed) != 32:
            raise SealKeyError("an Ed25519 private key is 32 bytes")
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        current = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        keys = [PublicKey(key_id(current), current, current=True)]
        for text in retired_public_keys:
            raw = _b64decode(text)
            if len(raw) != 32:
                raise SealKeyError("an Ed25519 public key is 32 bytes")
            keys.append(PublicKey(key_id(raw), raw, current=False))
        self.public_keys = tuple(keys)
        self._verifiers = {k.key_id: Ed25519PublicKey.from_public_bytes(k.raw) for k in keys}

    @property
    def key_id(self) -> str:
        return self.public_keys[0].key_id

    def sign(self, message: bytes) -> str:
        return _b64encode(self._private.sign(message))

    def verify(self, key_id: str, message: bytes, signature: str) -> bool:
        return verify_with(self._verifiers, key_id, message, signature)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self.public_keys]}


class PublishedSealKeys:
    """Verification only, from a published JWK set (for the offline verifier)."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self._verifiers = {
            jwk["kid"]: Ed25519PublicKey.from_public_bytes(_b64decode(jwk["x"]))
            for jwk in jwks.get("keys", [])
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519"
        }

    def verify(self, key_id: str, message: bytes, signature: str) -> bool:
        return verify_with(self._verifiers, key_id, message, signature)


def verify_with(
    verifiers: dict[str, Ed25519PublicKey], key_id: str, message: bytes, signature: str
) -> bool:
    verifier = verifiers.get(key_id)
    if verifier is None:
        return False
    try:
        verifier.verify(_b64decode(signature), message)
    except (InvalidSignature, SealKeyError):
        return False
    return True

"""What a witness answers `auditlog-verify --witness`: its last checkpoint and an account's
head, each with the moment it saw them and its cosignature (adapters/inbound/http/witness.py).

`HttpWitness` reads the checkpoint and the head (with its bounds on time and size); this
keeps the rest of the same answer, so what is checked is one answer, not two that a
witness accepting a checkpoint in between would make disagree. With the witness's public
key (base64url Ed25519, as `auditlog-witness` prints it), a cosignature that does not
verify is `WitnessUnavailable`: the answer is not that witness's.
"""

import base64
import binascii
from datetime import datetime
from typing import Any

import httpx

from adapters.outbound.seal_keys import PublicKey, PublishedSealKeys, key_id
from adapters.outbound.witness_client import HttpWitness, witness_http_client
from application.integrity.witnessing import WitnessUnavailable
from domain.checkpoint import SealedHead
from domain.witnessing import Witnessed, WitnessedHead, checkpoint_statement, head_statement


class WitnessKey:
    """A witness's public key, to check its cosignatures."""

    def __init__(self, text: str) -> None:
        """ValueError if `text` is not a base64url Ed25519 public key."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError("not a base64url Ed25519 public key (32 bytes)")
        self._id = key_id(raw)
        self._keys = PublishedSealKeys({"keys": [PublicKey(self._id, raw, current=True).jwk()]})

    def signed(self, statement: bytes, cosignature: str) -> bool:
        return self._keys.verify(self._id, statement, cosignature)


class _Answers(HttpWitness):
    """`HttpWitness`, keeping the body of its last answer."""

    answer: Any = None

    async def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, self.answer = await super()._call(method, path, **kwargs)
        return status, self.answer


async def ask(
    url: str,
    account: str,
    key: WitnessKey | None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[Witnessed | None, WitnessedHead | None]:
    """The witness's last checkpoint and `account`'s head (None where it has none yet);
    `WitnessUnavailable` if it does not answer, answers in another form, or (with `key`) its
    cosignatures do not verify."""
    async with witness_http_client(transport) as client:
        witness = _Answers(url, client)
        checkpoint = await witness.checkpoint()
        witnessed = None
        if checkpoint is not None:
            sequence, at, cosignature = _receipt(witness.answer, "/checkpoints/latest")
            witnessed = Witnessed(checkpoint=checkpoint, witnessed_at=at, cosignature=cosignature)
            if sequence != (checkpoint.sequence, checkpoint.hash()):
                raise WitnessUnavailable("GET /checkpoints/latest answered in an unknown form")
            statement = checkpoint_statement(checkpoint.hash(), checkpoint.sequence, at)
            if key is not None and not key.signed(statement, cosignature):
                raise WitnessUnavailable(
                    "its cosignature of its latest checkpoint does not verify with --witness-key"
                )
        found: SealedHead | None = await witness.head(account)
        if found is None:
            return witnessed, None
        (number, checkpoint_hash), at, cosignature = _receipt(witness.answer, "/heads")
        head = WitnessedHead(
            head=found, sequence=number, checkpoint_hash=checkpoint_hash, witnessed_at=at
        )
        if key is not None and not key.signed(head_statement(head), cosignature):
            raise WitnessUnavailable(
                f"its cosignature of the head of {account} does not verify with --witness-key"
            )
        return witnessed, head


def _receipt(answer: Any, path: str) -> tuple[tuple[int, str], datetime, str]:
    """(sequence, checkpoint_hash), witnessed_at and cosignature of an answer."""
    try:
        sequence, checkpoint_hash = answer["sequence"], answer["checkpoint_hash"]
        at = datetime.fromisoformat(answer["witnessed_at"])
        cosignature = answer["cosignature"]
        if (
            not isinstance(sequence, int)
            or not isinstance(checkpoint_hash, str)
            or not isinstance(cosignature, str)
            or at.tzinfo is None
        ):
            raise ValueError("not a receipt")
    except (LookupError, TypeError, ValueError):
        raise WitnessUnavailable(f"GET {path} answered in an unknown form") from None
    return (sequence, checkpoint_hash), at, cosignature

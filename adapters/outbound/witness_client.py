"""A witness over HTTP (`auditlog-witness`'s API, adapters/inbound/http/witness.py), with httpx.

Each request is bounded as a whole (a witness that drips its answer cannot hold a pass),
besides connecting; redirects are not followed (a witness is the URL configured, nothing
else); an answer is read up to a bound. Whatever goes wrong is `WitnessUnavailable` with a
message that quotes nothing the witness sent.
"""

import asyncio
import json
import re
from datetime import datetime
from typing import Any, TypeGuard
from urllib.parse import quote

import httpx

from application.integrity.witnessing import Answer, WitnessUnavailable
from domain.checkpoint import Checkpoint, SealedHead
from domain.witnessing import GAP

CONNECT_TIMEOUT_SECONDS = 5.0
REQUEST_TIMEOUT_SECONDS = 15.0
MAX_ANSWER_BYTES = 2 * 1024 * 1024
"""Above the witness's own bound on a checkpoint (1 MiB), which `latest` answers with."""
_HASH = re.compile(r"[0-9a-f]{64}")
_CODE = re.compile(r"[A-Z_]{1,40}")


def witness_http_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """One client for all witnesses; closed by whoever made it."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(REQUEST_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
        follow_redirects=False,
        transport=transport,
    )


class HttpWitness:
    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        """`base_url` as the settings checked it: no credentials, query or fragment, so it
        can name the witness in logs."""
        self.name = base_url.rstrip("/")
        self._client = client

    async def latest(self) -> tuple[int, str] | None:
        status, body = await self._call("GET", "/checkpoints/latest")
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict):
            raise WitnessUnavailable(f"GET /checkpoints/latest answered {status}")
        sequence, checkpoint_hash = body.get("sequence"), body.get("checkpoint_hash")
        if not _is_sequence(sequence) or not _is_hash(checkpoint_hash):
            raise WitnessUnavailable("GET /checkpoints/latest answered in an unknown form")
        return sequence, checkpoint_hash

    async def checkpoint(self) -> Checkpoint | None:
        """The last checkpoint it accepted, whole (its signature is the caller's to check);
        None if none yet."""
        status, body = await self._call("GET", "/checkpoints/latest")
        if status == 404:
            return None
        if (
            status != 200
            or not isinstance(body, dict)
            or not isinstance(body.get("checkpoint"), dict)
        ):
            raise WitnessUnavailable(f"GET /checkpoints/latest answered {status}")
        try:
            return Checkpoint.from_document(body["checkpoint"])
        except ValueError:
            raise WitnessUnavailable(
                "GET /checkpoints/latest answered in an unknown form"
            ) from None

    async def head(self, account: str) -> SealedHead | None:
        """The newest seal of `account` it saw listed; None if none."""
        status, body = await self._call("GET", f"/heads/{quote(account, safe='')}")
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict):
            raise WitnessUnavailable(f"GET /heads answered {status}")
        try:
            return SealedHead(
                account=_text(body["account"]),
                seal_id=_text(body["seal_id"]),
                window_start=_moment(body["window_start"]),
                seal_hash=_text(body["seal_hash"]),
                expires_at=_moment(body["expires_at"]),
            )
        except (LookupError, ValueError):
            raise WitnessUnavailable("GET /heads answered in an unknown form") from None

    async def submit(self, checkpoint: Checkpoint) -> Answer:
        status, body = await self._call("POST", "/checkpoints", json=checkpoint.document())
        if status == 200 and isinstance(body, dict):
            sequence = body.get("sequence")
            if _is_sequence(sequence) and sequence == checkpoint.sequence:
                return Answer(accepted=True)
        error = body.get("error") if isinstance(body, dict) else None
        if status in (400, 409) and isinstance(error, str) and _CODE.fullmatch(error):
            expected = body.get("expected")
            if error == GAP and not _is_sequence(expected):
                raise WitnessUnavailable("POST /checkpoints answered GAP without `expected`")
            return Answer(error=error, expected=expected if error == GAP else None)
        raise WitnessUnavailable(f"POST /checkpoints answered {status}")

    async def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                async with self._client.stream(method, self.name + path, **kwargs) as response:
                    raw = bytearray()
                    async for chunk in response.aiter_bytes():
                        raw += chunk
                        if len(raw) > MAX_ANSWER_BYTES:
                            raise WitnessUnavailable(f"{method} {path} answered too much")
                    status = response.status_code
        except TimeoutError:
            raise WitnessUnavailable(f"{method} {path} timed out") from None
        except httpx.HTTPError as exc:
            raise WitnessUnavailable(f"{method} {path} failed ({type(exc).__name__})") from None
        try:
            return status, json.loads(raw)
        except (ValueError, RecursionError):
            return status, None


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _moment(value: object) -> datetime:
    moment = datetime.fromisoformat(_text(value))
    if moment.tzinfo is None:
        raise ValueError("a time without its offset")
    return moment


def _is_sequence(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_hash(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _HASH.fullmatch(value) is not None

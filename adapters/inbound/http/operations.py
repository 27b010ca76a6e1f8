"""The routes an operator's tools call: liveness, readiness, metrics, the seal keys, the
latest checkpoint, and `/`.

Readiness asks the store the lifespan put on `app.state.store`, at each request, and shows
the last check of `app.state.sealing_health` (None: this instance does not seal).
"""

from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client.exposition import choose_encoder

from adapters.observability.metrics import Metrics
from application.errors import StoreUnavailable
from application.integrity.sealing_health import SealingHealth
from application.ports import Checkpoints
from domain.timestamps import iso_utc


class PublicSealKeys(Protocol):
    def jwks(self) -> dict[str, Any]:
        """The public keys seals are signed with, current and retired, as a JWK set."""
        ...


def _sealing(health: SealingHealth | None) -> dict[str, object]:
    """The last sealing check as `/readyz` shows it; no holder: that is for the log."""
    if health is None:
        return {"state": "disabled"}
    status = health.last
    if status is None:
        return {"state": "unchecked"}
    return {
        "state": status.state,
        "lag_seconds": status.lag.total_seconds(),
        "lag_windows": status.lag_windows,
        "checked_at": iso_utc(status.checked_at),
    }


def mount_operations(app: FastAPI, *, metrics: Metrics, seal_keys: PublicSealKeys) -> None:
    @app.get("/.well-known/audit-seal-keys.json", include_in_schema=False)
    async def seal_public_keys() -> JSONResponse:
        """The public keys seals are signed with, current and retired, as a JWK set."""
        return JSONResponse(seal_keys.jwks(), headers={"Cache-Control": "public, max-age=300"})

    @app.get("/.well-known/audit-checkpoint.json", include_in_schema=False)
    async def latest_checkpoint(request: Request) -> JSONResponse:
        """The latest signed checkpoint, as anyone may see it: its signed body (the seals it
        lists are digests) with no heads beside it, so it names no tenant. 404 before the
        first; 503 when the store does not answer."""
        checkpoints: Checkpoints = request.app.state.checkpoints
        try:
            latest = await checkpoints.latest()
        except StoreUnavailable:
            return JSONResponse({"error": "STORE_UNAVAILABLE"}, status_code=503)
        if latest is None:
            return JSONResponse({"error": "NOT_FOUND"}, status_code=404)
        published = {**latest.body(), "key_id": latest.key_id, "signature": latest.signature}
        return JSONResponse({**published, "heads": []}, headers={"Cache-Control": "no-cache"})

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: the database answers a ping (its indexes were ensured at start). The
        sealing check's last finding rides along but decides nothing: every instance sees
        the same stall, and taking them all out of rotation would stop ingestion too."""
        ready = await request.app.state.store.ready()
        return JSONResponse(
            {
                "status": "ready" if ready else "unavailable",
                "sealing": _sealing(request.app.state.sealing_health),
            },
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics_page(request: Request) -> Response:
        # The format the scraper asks for; plain 0.0.4 text unless it asks for more.
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(metrics.registry), media_type=content_type)

    @app.get("/", include_in_schema=False)
    async def index() -> dict[str, str]:
        return {
            "service": "auditlog",
            "graphql": "/graphql",
            "health": "/healthz",
            "ready": "/readyz",
            "metrics": "/metrics",
            "portal": "/portal",
        }

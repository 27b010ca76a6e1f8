"""`GET /portal`: the audit log viewer, plain HTML, CSS and JavaScript modules, no build step.

Served with a strict Content-Security-Policy (no inline script, no other origin), no
framing, and no Referer: the page's URLs carry filters, and its download links carry tokens.
"""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

PORTAL = Path(__file__).parent / "portal"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


class _PortalFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def mount_portal(app: FastAPI) -> None:
    @app.get("/portal", include_in_schema=False)
    async def portal() -> FileResponse:
        return FileResponse(PORTAL / "index.html", headers=SECURITY_HEADERS)

    @app.get("/portal/", include_in_schema=False)
    async def portal_slash() -> RedirectResponse:
        return RedirectResponse("/portal")

    app.mount("/portal/static", _PortalFiles(directory=PORTAL), name="portal-static")

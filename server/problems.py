"""HTTP errors as problem details (RFC 9457), the one error shape of every HTTP endpoint."""

from __future__ import annotations

from starlette.responses import JSONResponse


def problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )

"""Liveness and readiness.

`/healthz` says the process serves requests. `/readyz` says it can do its job: the database
answers and its schema is at the migration head this code expects. The probe opens a fresh
connection each time, so a deleted SQLite file or a dropped PostgreSQL database shows at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from yunfab.db import create_engine
from yunfab.migrations import MigrationTree, current_revisions, head_revisions

log = structlog.get_logger(__name__)

PROBE_TIMEOUT_S = 3.0

ExtraCheck = Callable[[], Awaitable[dict[str, Any]]]
"""Extra facts for the readiness body (e.g. the node's hub link); they never fail readiness."""


async def check_database(tree: MigrationTree, url: str, heads: set[str]) -> dict[str, Any]:
    engine = create_engine(url, probe=True)
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            current = await current_revisions(connection)
    except Exception as exc:  # any failure to reach the database is "not ready"
        return {"ok": False, "reason": f"database unreachable: {type(exc).__name__}"}
    finally:
        await engine.dispose()
    if current != heads:
        return {
            "ok": False,
            "reason": "migrations not at head",
            "current": sorted(current),
            "head": sorted(heads),
        }
    return {"ok": True, "revision": sorted(current)}


def health_router(tree: MigrationTree, url: str, extra: ExtraCheck | None = None) -> APIRouter:
    router = APIRouter(tags=["health"])
    heads = head_revisions(tree)

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: database reachable and migrated to head",
        responses={503: {"description": "Not ready; `checks` says why"}},
    )
    async def readyz() -> JSONResponse:
        database = await check_database(tree, url, heads)
        body: dict[str, Any] = {"status": "ok" if database["ok"] else "unavailable"}
        body["checks"] = {"database": database}
        if extra is not None:
            body["checks"].update(await extra())
        if not database["ok"]:
            log.warning("not_ready", reason=database["reason"])
        return JSONResponse(body, status_code=200 if database["ok"] else 503)

    return router

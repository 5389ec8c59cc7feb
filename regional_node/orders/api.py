"""Gantt charts as pictures: people would rather look than read JSON."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from regional_node.graphql.context import current_subject
from regional_node.orders import schedules
from yunfab.errors import InvalidInput
from yunfab.subject import Subject

router = APIRouter(prefix="/api/v1/schedules", tags=["scheduling"])
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}


@router.get("/{schedule_id}/gantt.{fmt}", summary="A schedule's Gantt chart as PNG or SVG")
async def gantt_chart(
    schedule_id: uuid.UUID,
    fmt: str,
    request: Request,
    subject: Annotated[Subject, Depends(current_subject)],
) -> Response:
    if fmt not in MEDIA:
        raise InvalidInput("the chart comes as .png or .svg")
    runtime = request.app.state.runtime
    async with request.app.state.db.sessionmaker() as session:
        row = await schedules.get_schedule(
            session, subject, runtime=runtime, schedule_id=schedule_id
        )
    picture = await asyncio.to_thread(schedules.chart, row, fmt)  # type: ignore[arg-type]
    return Response(picture, media_type=MEDIA[fmt], headers={"cache-control": "private"})

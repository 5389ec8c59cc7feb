"""Gantt charts as pictures: people would rather look than read JSON."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Literal, cast

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response

from regional_node.factories.service import get_factory
from regional_node.graphql.context import current_subject
from regional_node.orders import chart_links, schedules
from regional_node.orders.errors import ChartLinkRefused, ScheduleNotFound
from regional_node.orders.repository import ScheduleRepository
from regional_node.settings import NodeSettings
from regional_node.state import node_state
from yunfab.errors import InvalidInput
from yunfab.subject import Subject

router = APIRouter(prefix="/api/v1/schedules", tags=["scheduling"])
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}
log = structlog.get_logger(__name__)


@router.get(
    "/{schedule_id}/gantt.{fmt}",
    summary="A schedule's Gantt chart as PNG or SVG",
    description="With a bearer token, or with the signed link's `expires`, `sub` and `sig` "
    "(GraphQL `FactorySchedule.chartUrl`) for a browser's <img>; a link altered or expired is "
    "refused with 403 and the reason.",
)
async def gantt_chart(
    schedule_id: uuid.UUID,
    fmt: str,
    request: Request,
    subject: Annotated[Subject, Depends(current_subject)],
    expires: Annotated[int | None, Query(ge=0, le=2**40)] = None,
    sub: Annotated[str | None, Query(max_length=chart_links.MAX_SUBJECT)] = None,
    sig: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    if fmt not in MEDIA:
        raise InvalidInput("the chart comes as .png or .svg")
    settings: NodeSettings = node_state(request.app).settings
    signed = (expires, sub, sig) != (None, None, None)
    if signed:
        if expires is None or sub is None or sig is None:
            raise ChartLinkRefused("chart link: expires, sub and sig go together")
        link = chart_links.ChartLink(schedule_id=schedule_id, fmt=fmt, expires=expires, subject=sub)
        chart_links.verify(settings.chart_link_key(), link, sig)
    runtime = node_state(request.app).runtime
    async with node_state(request.app).db.sessionmaker() as session:
        if signed:
            # The link is the caller's proof, checked above: no policy decision to repeat.
            row = await ScheduleRepository(session).get(schedule_id)
            if row is None:
                raise ScheduleNotFound(f"no schedule {schedule_id} on this node")
            log.info("chart link used", schedule=str(schedule_id), made_for=sub)
        else:
            row = await schedules.get_schedule(
                session, subject, runtime=runtime, schedule_id=schedule_id
            )
        factory = await get_factory(session, row.factory_id)
    zone = schedules.time_zone(factory, settings.time_zone)
    picture = await asyncio.to_thread(
        schedules.chart, row, cast(Literal["png", "svg"], fmt), zone=zone
    )
    return Response(picture, media_type=MEDIA[fmt], headers={"cache-control": "private"})

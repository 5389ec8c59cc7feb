"""REST endpoints the nodes call (machine to machine, each node's own client for itself)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from hub.data_exchange.workforce_relay import service
from hub.data_exchange.workforce_relay.models import RelayStatus, WorkforceRelayRequest
from hub.identity.auth import authorizer, current_subject
from yunfab.authorization import Authorizer
from yunfab.service import db_session
from yunfab.subject import Subject

router = APIRouter(prefix="/api/v1/workforce-relay", tags=["workforce relay"])

Session = Annotated[AsyncSession, Depends(db_session, scope="function")]
Caller = Annotated[Subject, Depends(current_subject)]
Authz = Annotated[Authorizer, Depends(authorizer)]
Answer = Literal["proposed", "accepted", "declined", "refused"]


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lender_node: str = Field(min_length=1, max_length=63)
    borrower_org: str = Field(min_length=1, max_length=64)
    offer: str = Field(min_length=1, max_length=64)
    skill: str = Field(min_length=1, max_length=60)
    first_day: dt.date
    last_day: dt.date
    shift: str = Field(min_length=1, max_length=16)
    wage: float
    site_area: str = Field(min_length=1, max_length=100)
    site_lat: float
    site_lon: float
    public_key: str = Field(min_length=1, max_length=64)


class RequestOut(BaseModel):
    """A request as the nodes see it: terms, status and, for the borrower, the sealed contact."""

    id: uuid.UUID
    borrower_node: str
    lender_node: str
    borrower_org: str
    borrower_name: str | None = None
    offer: str
    skill: str
    first_day: dt.date
    last_day: dt.date
    shift: str
    wage: float
    site_area: str
    site_lat: float
    site_lon: float
    public_key: str
    status: RelayStatus
    reason: str | None
    sealed_contact: str | None = None

    @classmethod
    def of(
        cls, row: WorkforceRelayRequest, *, name: str | None = None, sealed: bool = False
    ) -> RequestOut:
        return cls(
            id=row.id, borrower_node=row.borrower_node, lender_node=row.lender_node,
            borrower_org=row.borrower_org, borrower_name=name, offer=row.offer, skill=row.skill,
            first_day=row.first_day, last_day=row.last_day, shift=row.shift, wage=row.wage,
            site_area=row.site_area, site_lat=row.site_lat, site_lon=row.site_lon,
            public_key=row.public_key, status=row.status, reason=row.reason,
            sealed_contact=row.sealed_contact if sealed else None,
        )  # fmt: skip


class Requests(BaseModel):
    requests: list[RequestOut]


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Answer
    reason: str | None = Field(default=None, max_length=service.MAX_REASON)
    sealed_contact: str | None = Field(default=None, max_length=service.MAX_SEALED)


class TakenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Answer


@router.put(
    "/requests/{request_id}",
    summary="A factory of the calling node asks for a worker another node offers (idempotent)",
    responses={
        403: {"description": "Not a node's own client, or no agreement on the offers"},
        404: {"description": "No such offer in the lending node's workforce-offers"},
        422: {"description": "Terms outside the limits, with the reason"},
    },
)
async def put_request(
    request_id: uuid.UUID, body: RequestIn, session: Session, caller: Caller, authz: Authz
) -> RequestOut:
    row = await service.request(
        session, caller, authorizer=authz,
        input=service.NewRequest(id=request_id, **body.model_dump()),
    )  # fmt: skip
    return RequestOut.of(row)


@router.get("/nodes/{node}/inbox", summary="Requests to the calling node not yet taken")
async def get_inbox(node: str, session: Session, caller: Caller, authz: Authz) -> Requests:
    found = await service.inbox(session, caller, authorizer=authz, node=node)
    return Requests(requests=[RequestOut.of(i.request, name=i.borrower_name) for i in found])


@router.post(
    "/requests/{request_id}/answer",
    summary="The lending node's answer (with the contact sealed to the borrower on acceptance)",
)
async def post_answer(
    request_id: uuid.UUID, body: AnswerIn, session: Session, caller: Caller, authz: Authz
) -> RequestOut:
    row = await service.answer(
        session, caller, authorizer=authz, request_id=request_id,
        status=RelayStatus(body.status), reason=body.reason, sealed_contact=body.sealed_contact,
    )  # fmt: skip
    return RequestOut.of(row)


@router.get("/nodes/{node}/outbox", summary="The calling node's requests with a new answer")
async def get_outbox(node: str, session: Session, caller: Caller, authz: Authz) -> Requests:
    found = await service.outbox(session, caller, authorizer=authz, node=node)
    return Requests(requests=[RequestOut.of(row, sealed=True) for row in found])


@router.post(
    "/requests/{request_id}/taken",
    summary="The borrowing node took the answer: the sealed contact goes from the hub",
)
async def post_taken(
    request_id: uuid.UUID, body: TakenIn, session: Session, caller: Caller, authz: Authz
) -> RequestOut:
    row = await service.taken(
        session, caller, authorizer=authz, request_id=request_id,
        status=RelayStatus(body.status),
    )  # fmt: skip
    return RequestOut.of(row)

"""REST endpoints publishers call (machine to machine): declare a product, sync its rows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from hub.data_exchange import service
from hub.data_exchange.models import DataProduct
from hub.identity.auth import authorizer, current_subject
from yunfab.authorization import Authorizer
from yunfab.service import db_session
from yunfab.settings import Slug
from yunfab.subject import Subject
from yunfab.usage_policy import ProductDefinition

router = APIRouter(prefix="/api/v1/data-products", tags=["data exchange"])

ProductKey = Annotated[Slug, Path(description="The product's key, unique per publisher")]
Session = Annotated[AsyncSession, Depends(db_session, scope="function")]
Caller = Annotated[Subject, Depends(current_subject)]
Authz = Annotated[Authorizer, Depends(authorizer)]


class SyncState(BaseModel):
    seq: int
    """The last batch applied; 0: send a snapshot from seq 1."""
    snapshot: int | None


class ProductOut(BaseModel):
    id: str
    key: str
    sync: SyncState

    @classmethod
    def of(cls, product: DataProduct) -> ProductOut:
        return cls(
            id=str(product.id),
            key=product.key,
            sync=SyncState(seq=product.sync_seq, snapshot=product.live_snapshot),
        )


class UpsertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=255)
    data: dict[str, Any]


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=1)
    kind: Literal["snapshot", "increment"]
    snapshot: int | None = Field(default=None, ge=1)
    last: bool = False
    upserts: list[UpsertIn] = Field(default_factory=list, max_length=service.MAX_BATCH_ROWS)
    deletes: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list, max_length=service.MAX_BATCH_ROWS
    )


class AppliedOut(BaseModel):
    seq: int
    applied: bool
    """False: the batch had been applied before (a resend); nothing changed."""


@router.put(
    "/{key}",
    summary="Declare a data product (idempotent), with the offers it is published under",
    responses={
        403: {"description": "Not a publisher (exchange:publish or a node's own client)"},
        422: {"description": "A schema, sample or offer outside the vocabulary, with the reason"},
    },
)
async def put_product(
    key: ProductKey, body: ProductDefinition, session: Session, caller: Caller, authz: Authz
) -> ProductOut:
    product = await service.publish_product(
        session, caller, authorizer=authz, key=key, definition=body
    )
    return ProductOut.of(product)


@router.get("/{key}/sync", summary="How far the hub has applied this product's batches")
async def sync_state(key: ProductKey, session: Session, caller: Caller, authz: Authz) -> SyncState:
    product = await service.own_product(session, caller, authorizer=authz, key=key)
    return SyncState(seq=product.sync_seq, snapshot=product.live_snapshot)


@router.post(
    "/{key}/batches",
    summary="Apply one batch of rows (snapshot chunk or increment), strictly in seq order",
    responses={
        404: {"description": "No such product of the caller's (`data_product_not_found`)"},
        409: {"description": "The batch skips ahead (`sync_gap`, with `expected`)"},
        422: {"description": "A row outside the schema: nothing of the batch is applied"},
    },
)
async def push_batch(
    key: ProductKey, body: BatchIn, session: Session, caller: Caller, authz: Authz
) -> AppliedOut:
    applied = await service.apply_batch(
        session,
        caller,
        authorizer=authz,
        key=key,
        batch=service.Batch(
            seq=body.seq,
            kind=body.kind,
            snapshot=body.snapshot,
            last=body.last,
            upserts=[service.Upsert(key=u.key, data=u.data) for u in body.upserts],
            deletes=list(body.deletes),
        ),
    )
    return AppliedOut(seq=applied.seq, applied=applied.applied)

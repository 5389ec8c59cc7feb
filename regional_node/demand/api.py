"""Sales uploads over REST, for brands' systems and `yunfab demand import` that send files
rather than GraphQL:

- `POST /api/v1/demand/sales?brand=ORG&source=NAME`: the body is a CSV file (`text/csv`) or,
  when pyarrow is installed, a Parquet file (`application/vnd.apache.parquet`, or any type
  when it starts with Parquet's magic bytes). `brand` defaults to the caller's organization.

The caller is authorized (the brand itself, or the node operator) from the headers before a
byte of the body is read; a body over `MAX_UPLOAD_BYTES` is refused with 413. The file is
checked as a whole: 422 `sales_invalid` with every problem's row and column, and nothing
stored; 201 with the import (rows, days, warnings about weeks without sales) otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from regional_node.demand import sales, service
from regional_node.demand.models import SalesImport
from regional_node.graphql.context import current_subject
from regional_node.settings import NodeSettings
from regional_node.state import node_state
from yunfab.bodies import MIB, BodyLimit, read_body
from yunfab.db import session_scope
from yunfab.subject import Subject, SubjectKind
from yunfab.tokens import TokenMissing

router = APIRouter(tags=["demand"])
SALES_PATH = "/api/v1/demand/sales"
MAX_UPLOAD_BYTES = 32 * MIB
PARQUET_MAGIC = b"PAR1"
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet")


def sales_limit(settings: NodeSettings | None = None) -> BodyLimit:
    return BodyLimit(SALES_PATH, MAX_UPLOAD_BYTES, checked_by_route=True)


def body_limits(settings: NodeSettings) -> list[BodyLimit]:
    return [sales_limit(settings)]


def import_json(row: SalesImport) -> dict[str, Any]:
    """An import as the GraphQL API shows it (camelCase)."""
    return {
        "id": str(row.id),
        "brand": row.brand_org,
        "source": row.source,
        "rows": row.rows,
        "firstDay": row.first_day.isoformat(),
        "lastDay": row.last_day.isoformat(),
        "warnings": row.warnings,
        "createdBy": row.created_by,
        "createdAt": row.created_at.isoformat(),
    }


@router.post(
    SALES_PATH,
    status_code=201,
    summary="Upload a brand's sales (CSV or Parquet)",
    description="Columns sku, date, quantity and optionally channel and region; a negative "
    "quantity is a return. Refused as a whole (422, every problem with its row and column) or "
    "stored as a whole (201).",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        }
    },
)
async def upload_sales(
    request: Request,
    subject: Annotated[Subject, Depends(current_subject)],
    brand: Annotated[
        str | None, Query(max_length=64, description="The brand's organization id.")
    ] = None,
    source: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    if subject.kind is SubjectKind.ANONYMOUS:
        # Nobody's upload is read before we know who sends it.
        raise TokenMissing("authentication required: send a Bearer access token")
    state = node_state(request.app)
    async with state.db.sessionmaker() as session:
        owner = await service.authorize_sales(session, subject, runtime=state.runtime, brand=brand)
    data = await read_body(request, sales_limit())
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if data.startswith(PARQUET_MAGIC) or kind in PARQUET_TYPES:
        rows = sales.read_parquet(data)
        name = source or "upload.parquet"
    else:
        rows = sales.read_csv(data)
        name = source or "upload.csv"
    async with session_scope(state.db.sessionmaker) as session:
        record = await service.import_sales(
            session, subject, runtime=state.runtime, brand=owner, rows=rows, source=name
        )
    return import_json(record)

"""`GET /api/v1/data-products/{key}/rows`: live rows for the hub's data exchange."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from regional_node.data_products import service
from regional_node.data_products.products import ProducerContext, configured
from regional_node.graphql.context import current_subject
from regional_node.settings import NodeSettings
from regional_node.state import node_state
from yunfab.subject import Subject

router = APIRouter(prefix="/api/v1/data-products", tags=["data exchange"])


@router.get(
    "/{key}/rows",
    summary="A data product's rows now (hub-minted tokens with exchange:live only)",
)
async def live_rows(
    key: str, request: Request, subject: Annotated[Subject, Depends(current_subject)]
) -> dict[str, Any]:
    settings: NodeSettings = node_state(request.app).settings
    async with node_state(request.app).db.sessionmaker() as session:
        live = await service.live_rows(
            session,
            subject,
            authorizer=node_state(request.app).authorizer,
            products=configured(settings.data_products),
            context=ProducerContext.of(settings),
            key=key,
        )
    return {
        "key": live.key,
        "as_of": live.as_of.isoformat(),
        "rows": [row.wire() for row in live.rows],
    }

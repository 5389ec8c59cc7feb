"""`GET /api/v1/market/installations`: what the market installed on this node, for its operator."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from regional_node.graphql.context import current_subject
from regional_node.market import service
from regional_node.market.models import Installation
from regional_node.state import node_state
from yunfab.subject import Subject

router = APIRouter(prefix="/api/v1/market", tags=["market"])


@router.get("/installations", summary="Market installations on this node (its operator)")
async def installations(
    request: Request, subject: Annotated[Subject, Depends(current_subject)]
) -> dict[str, Any]:
    async with node_state(request.app).db.sessionmaker() as session:
        rows = await service.list_installations(
            session, subject, authorizer=node_state(request.app).authorizer
        )
        trusted_at = await service.trust_fetched_at(session)
    return {
        "installations": [installation_json(row) for row in rows],
        "trust_fetched_at": trusted_at.isoformat() if trusted_at else None,
    }


def installation_json(row: Installation) -> dict[str, Any]:
    return {
        "id": row.id,
        "release": row.release_id,
        "listing": row.listing,
        "version": row.version,
        "kind": row.kind,
        "artifact_sha256": row.digest,
        "state": row.state.value,
        "error": row.error,
        "detail": row.detail,
        "config": row.config,
        "routing_id": str(row.routing_id) if row.routing_id else None,
        "model_id": str(row.model_id) if row.model_id else None,
        "reported": row.reported,
        "usage_reported": row.usage_reported,
        "updated_at": row.updated_at.isoformat(),
    }

"""REST endpoints nodes call: registration and heartbeats (machine-to-machine, not GraphQL)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import APIRouter, Depends, Path, Request
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from hub.federation import service
from hub.federation.events import NodeEvents
from hub.federation.models import NodeStatus, RegionalNode
from hub.federation.urls import node_url_rules
from hub.identity.auth import authorizer, current_subject
from hub.settings import HubSettings
from hub.state import hub_state
from yunfab.authorization import Authorizer
from yunfab.service import db_session
from yunfab.settings import Region, Slug
from yunfab.subject import Subject

router = APIRouter(prefix="/api/v1/nodes", tags=["federation"])

NodeName = Annotated[Slug, Path(description="The node's unique name, e.g. zj-textile")]


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: Region
    industry: Slug
    base_url: AnyHttpUrl
    flower_public_key: str | None = Field(default=None, max_length=1024)
    """The node's Flower SuperNode key, OpenSSH format, elliptic curve (what Flower accepts)."""
    yunfab_version: str | None = Field(
        default=None, max_length=64, pattern=r"^[0-9][0-9A-Za-z.+!-]*$"
    )
    """The Yunfab version the node runs: market releases are checked against it."""

    @field_validator("flower_public_key")
    @classmethod
    def _elliptic_curve_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            key = serialization.load_ssh_public_key(value.strip().encode())
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise ValueError("not an OpenSSH public key") from exc
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError("Flower SuperNode keys are elliptic-curve keys (ecdsa-sha2-nistp*)")
        return value.strip()


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["online", "stopping"] = "online"


class NodeOut(BaseModel):
    name: str
    region: str
    industry: str
    base_url: str | None
    status: NodeStatus
    last_heartbeat: dt.datetime | None
    registered_at: dt.datetime
    heartbeat_interval_s: float
    """How often the hub wants heartbeats: a third of its offline window."""

    @classmethod
    def of(cls, node: RegionalNode, settings: HubSettings) -> NodeOut:
        return cls(
            name=node.name,
            region=node.region,
            industry=node.industry,
            base_url=node.base_url,
            status=node.status,
            last_heartbeat=node.last_heartbeat,
            registered_at=node.registered_at,
            heartbeat_interval_s=settings.node_offline_after_s / 3,
        )


def _settings(request: Request) -> HubSettings:
    settings: HubSettings = hub_state(request.app).settings
    return settings


def _events(request: Request) -> NodeEvents:
    events: NodeEvents = hub_state(request.app).node_events
    return events


Session = Annotated[AsyncSession, Depends(db_session, scope="function")]
Caller = Annotated[Subject, Depends(current_subject)]
Authz = Annotated[Authorizer, Depends(authorizer)]
Settings = Annotated[HubSettings, Depends(_settings)]
Events = Annotated[NodeEvents, Depends(_events)]


@router.put(
    "/{name}",
    summary="Register a node (idempotent)",
    responses={
        401: {"description": "No valid token"},
        403: {"description": "The token does not speak for this node"},
        409: {
            "description": "The name is taken by a node of another region or industry "
            "(`node_identity_conflict`), the node is enrolled at another URL (`node_url_fixed`: "
            "a hub operator changes it), or another node is at this URL (`node_url_taken`)"
        },
        422: {"description": "A URL the hub will not call (`node_url_refused`)"},
    },
)
async def register(
    name: NodeName,
    body: RegistrationIn,
    session: Session,
    caller: Caller,
    authz: Authz,
    settings: Settings,
    events: Events,
) -> NodeOut:
    await authz.check(caller, "hub.node.register", {"name": name, "region": body.region})
    registered = await service.register_node(
        session,
        caller,
        input=service.NodeRegistration(
            name=name,
            region=body.region,
            industry=body.industry,
            base_url=str(body.base_url),
            flower_public_key=body.flower_public_key,
            yunfab_version=body.yunfab_version,
        ),
        events=events,
        rules=node_url_rules(settings),
    )
    return NodeOut.of(registered.node, settings)


@router.post(
    "/{name}/heartbeats",
    summary="Record a heartbeat",
    responses={404: {"description": "The node is not registered (`node_not_registered`)"}},
)
async def heartbeat(
    name: NodeName,
    body: HeartbeatIn,
    session: Session,
    caller: Caller,
    authz: Authz,
    settings: Settings,
    events: Events,
) -> NodeOut:
    await authz.check(caller, "hub.node.heartbeat", {"name": name})
    node = await service.record_heartbeat(
        session, caller, name=name, stopping=body.status == "stopping", events=events
    )
    return NodeOut.of(node, settings)

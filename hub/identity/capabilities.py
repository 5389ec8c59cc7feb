"""What the caller may do at the hub, asked of the policy as the real operations ask it.

The web console hides what would be refused: each capability is the answer to the question the
query or mutation itself asks, with the caller's own organization standing in for the resource
where a rule depends on one ("may I publish releases" is `hub.market.release.publish` for a
listing of my organization). The API still decides every request for the resource it names.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from yunfab.graphql.context import ServiceContext
from yunfab.subject import Subject


class On(enum.Enum):
    """What a capability's permission is decided on."""

    HUB = "hub"
    """Nothing: lists and hub-wide operations."""
    OWN = "own"
    """The caller's own organization, in each role a rule may name it (owner, provider,
    consumer, the organization itself)."""


@dataclass(frozen=True)
class Capability:
    name: str
    needs: tuple[tuple[str, On], ...]
    """Every one of these permissions must be granted."""
    description: str


def _one(name: str, action: str, on: On, description: str) -> Capability:
    return Capability(name, ((action, on),), description)


CAPABILITIES: tuple[Capability, ...] = (
    _one("read_nodes", "hub.regional_nodes.list", On.HUB, "`regionalNodes`, `regionalNode`"),
    _one("move_nodes", "hub.node.change_url", On.HUB, "`changeRegionalNodeUrl`"),
    _one("read_organizations", "hub.organizations.list", On.HUB, "`organizations`"),
    _one("create_organizations", "hub.organizations.create", On.HUB, "creating organizations"),
    _one("read_users", "hub.users.read", On.HUB, "`users`, `user`"),
    Capability(
        "manage_users",
        (("hub.users.create", On.HUB), ("hub.users.update", On.HUB)),
        "`createUser`, `updateUser`, password resets, disabling and enabling people",
    ),
    _one("create_clients", "hub.clients.create", On.HUB, "OAuth2 clients and their secrets"),
    _one("read_clients", "hub.clients.read", On.HUB, "`apiClients`"),
    _one(
        "manage_clients",
        "hub.clients.update",
        On.HUB,
        "disabling and enabling OAuth2 clients, rotating their secrets",
    ),
    _one("rotate_keys", "hub.keys.rotate", On.HUB, "the token signing keys and their rotation"),
    _one("revoke_tokens", "hub.token.revoke", On.HUB, "revoking any token"),
    _one("read_audit", "hub.audit.read", On.HUB, "`auditLog` and its chain verification"),
    _one("read_catalog", "hub.exchange.catalog.read", On.HUB, "`dataProducts`"),
    _one("publish_offers", "hub.exchange.offer.publish", On.OWN, "`publishDataOffer`"),
    _one("request_contracts", "hub.exchange.contract.request", On.HUB, "`requestDataContract`"),
    _one(
        "decide_contracts",
        "hub.exchange.contract.decide",
        On.OWN,
        "`offerDataContract`, `finalizeDataContract` (the provider's inbox)",
    ),
    _one("read_contracts", "hub.exchange.contract.read", On.OWN, "`dataContracts`"),
    _one("query_data", "hub.exchange.data.query", On.HUB, "`governedData`"),
    _one("read_board", "hub.board.read", On.HUB, "`supplyDemandBoard`, matches"),
    _one("post_to_board", "hub.board.post", On.OWN, "`postSupplyDemand`, `closePosting`"),
    _one("read_market", "hub.market.read", On.HUB, "`marketListings`, listings and releases"),
    _one(
        "publish_releases",
        "hub.market.release.publish",
        On.OWN,
        "publishing signed releases of the organization's listings",
    ),
    _one("manage_market_keys", "hub.market.key.register", On.OWN, "`registerSigningKey`"),
    _one(
        "review_releases",
        "hub.market.release.review",
        On.HUB,
        "`reviewRelease`, `reviewListing`, verifying publishers",
    ),
    _one("grant_entitlements", "hub.market.entitlement.grant", On.OWN, "`grantEntitlement`"),
    _one(
        "install_to_nodes",
        "hub.market.install.request",
        On.OWN,
        "`requestInstallation` on the organization's nodes",
    ),
    _one("read_federated", "hub.federated.read", On.HUB, "`federatedRuns`, `federatedRun`"),
    _one("run_federated", "hub.federated.run", On.HUB, "`startFederatedRun`"),
    _one("read_models", "hub.model.read", On.HUB, "`globalModels`"),
)


def _resource(on: On, subject: Subject) -> dict[str, Any] | None:
    if on is On.HUB:
        return None
    org = subject.org_id
    return {"org": org, "id": org, "provider_org": org, "consumer_org": org}


async def capabilities(context: ServiceContext) -> Mapping[str, bool]:
    """Each capability by name: whether the policy grants all it needs (decisions cached on
    the request, so a page asking twice asks the engine once)."""
    subject = context.subject
    decided: dict[tuple[str, On], bool] = {}
    for capability in CAPABILITIES:
        for need in capability.needs:
            if need not in decided:
                action, on = need
                decided[need] = await context.allows(action, _resource(on, subject))
    return {c.name: all(decided[need] for need in c.needs) for c in CAPABILITIES}

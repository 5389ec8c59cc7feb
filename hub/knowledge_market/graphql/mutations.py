"""The market's mutations, each in its own transaction. Refusals carry a stable code in
`extensions.code` (see hub/knowledge_market/errors.py and yunfab/market.py). Releases are
uploaded over REST (`POST /api/v1/market/releases`): an artifact is binary."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.graphql.context import HubContext
from hub.knowledge_market import service
from hub.knowledge_market.graphql.types import (
    MarketEntitlementType,
    MarketInstallationType,
    MarketKeyType,
    MarketListingReviewType,
    MarketPublisherType,
    MarketReleaseType,
)
from hub.knowledge_market.models import EntitlementKind, KeyKind
from yunfab.errors import InvalidInput
from yunfab.graphql.resolvers import mutate, service_input


@strawberry.input(name="GrantEntitlementInput")
class GrantEntitlementInput:
    listing_id: uuid.UUID
    kind: EntitlementKind
    node: str | None = strawberry.field(default=None, description="PER_NODE: the node.")
    organization_id: uuid.UUID | None = strawberry.field(
        default=None, description="SUBSCRIPTION and USAGE: the organization."
    )
    expires_at: dt.datetime | None = strawberry.field(
        default=None, description="Required for SUBSCRIPTION."
    )
    unit: str | None = strawberry.field(default=None, description="USAGE: what is counted.")
    limit: int | None = strawberry.field(default=None, description="USAGE: how many units.")


@strawberry.type
class MarketMutation:
    @strawberry.mutation(
        description="Register a public Ed25519 key (raw 32 bytes, base64) of your organization: "
        "PUBLISHER to sign releases (market:publish), REVIEWER to countersign (hub reviewers)."
    )
    async def register_signing_key(
        self, info: Info[HubContext, None], public_key: str, kind: KeyKind = KeyKind.PUBLISHER
    ) -> MarketKeyType:
        context = info.context
        if len(public_key) > 64:
            raise InvalidInput("publicKey: base64 of 32 bytes")
        row = await mutate(
            context,
            service.register_key,
            authorizer=context.authorizer,
            public_key=public_key,
            kind=kind,
        )
        return MarketKeyType.from_model(row)

    @strawberry.mutation(description="Retire a key: nothing new verifies with it.")
    async def retire_signing_key(
        self, info: Info[HubContext, None], key_id: str, kind: KeyKind = KeyKind.PUBLISHER
    ) -> MarketKeyType:
        context = info.context
        row = await mutate(
            context,
            service.retire_key,
            authorizer=context.authorizer,
            key_id=key_id[:16],
            kind=kind,
        )
        return MarketKeyType.from_model(row)

    @strawberry.mutation(description="Hub reviewers: verify an organization as a publisher.")
    async def verify_publisher(
        self, info: Info[HubContext, None], organization_id: uuid.UUID
    ) -> MarketPublisherType:
        context = info.context
        row = await mutate(
            context,
            service.verify_publisher,
            authorizer=context.authorizer,
            organization_id=organization_id,
        )
        return MarketPublisherType.from_model(row)

    @strawberry.mutation(
        description="Hub reviewers: countersign a release (Ed25519 over its review payload, "
        "`yunfab market review` computes it); the release becomes verified."
    )
    async def review_release(
        self, info: Info[HubContext, None], release_id: uuid.UUID, key_id: str, signature: str
    ) -> MarketReleaseType:
        context = info.context
        row = await mutate(
            context,
            service.review_release,
            authorizer=context.authorizer,
            release_id=release_id,
            key_id=key_id[:16],
            signature=signature[:128],
        )
        return MarketReleaseType.from_model(row)

    @strawberry.mutation(
        description="Hide a release from search and from installs by listing; installs "
        "pinned to it still resolve."
    )
    async def yank_release(
        self, info: Info[HubContext, None], id: uuid.UUID, reason: str
    ) -> MarketReleaseType:
        context = info.context
        row = await mutate(
            context,
            service.yank_release,
            authorizer=context.authorizer,
            release_id=id,
            reason=reason,
        )
        return MarketReleaseType.from_model(row)

    @strawberry.mutation(
        description="Revoke a release (security): no new installs; nodes disable it and report."
    )
    async def revoke_release(
        self, info: Info[HubContext, None], id: uuid.UUID, reason: str
    ) -> MarketReleaseType:
        context = info.context
        row = await mutate(
            context,
            service.revoke_release,
            authorizer=context.authorizer,
            release_id=id,
            reason=reason,
        )
        return MarketReleaseType.from_model(row)

    @strawberry.mutation(description="A listing's publisher grants the right to install it.")
    async def grant_entitlement(
        self, info: Info[HubContext, None], input: GrantEntitlementInput
    ) -> MarketEntitlementType:
        context = info.context
        row = await mutate(
            context,
            service.grant_entitlement,
            authorizer=context.authorizer,
            listing_id=input.listing_id,
            grant=service_input(service.Grant, input),
        )
        return MarketEntitlementType.from_model(row)

    @strawberry.mutation(
        description="Install a release on one of your nodes: by releaseId (a pin: resolves "
        "even if yanked), or by listing (and version, also a pin; without: the latest visible "
        "release). Approved at once when entitled, compatible and not revoked; otherwise "
        "refused: NOT_ENTITLED, INCOMPATIBLE, RELEASE_REVOKED, ALREADY_INSTALLED."
    )
    async def request_installation(
        self,
        info: Info[HubContext, None],
        node: str,
        release_id: uuid.UUID | None = None,
        listing: str | None = None,
        version: str | None = None,
        config: Annotated[
            JSON | None,
            strawberry.argument(
                description="Settings passed to the release as they are: each release defines "
                "its own, so JSON."
            ),
        ] = None,
    ) -> MarketInstallationType:
        context = info.context
        if (release_id is None) == (listing is None):
            raise InvalidInput("give releaseId or listing")
        if config is not None and not isinstance(config, dict):
            raise InvalidInput("config: a JSON object")
        row = await mutate(
            context,
            service.request_installation,
            authorizer=context.authorizer,
            request=service.InstallRequest(
                node=node[:63],
                release_id=release_id,
                listing=(listing or "")[:64] or None,
                version=(version or "")[:64] or None,
                config=dict(config or {}),
            ),
        )
        return MarketInstallationType.from_model(row)

    @strawberry.mutation(description="Take a release off a node (the node reports `removed`).")
    async def remove_installation(
        self, info: Info[HubContext, None], id: uuid.UUID
    ) -> MarketInstallationType:
        context = info.context
        row = await mutate(
            context, service.remove_installation, authorizer=context.authorizer, installation_id=id
        )
        return MarketInstallationType.from_model(row)

    @strawberry.mutation(
        description="Rate a listing your organization installed (1-5); again to change it."
    )
    async def review_listing(
        self, info: Info[HubContext, None], listing_id: uuid.UUID, rating: int, text: str = ""
    ) -> MarketListingReviewType:
        context = info.context
        row = await mutate(
            context,
            service.review_listing,
            authorizer=context.authorizer,
            listing_id=listing_id,
            rating=rating,
            text=text,
        )
        return MarketListingReviewType.from_model(row)

"""Every hub model, imported so that `Base.metadata` is complete for alembic and tests."""

from hub.audit.models import AuditEntry, AuditHead
from hub.data_exchange.board.models import BoardPosting
from hub.data_exchange.models import Contract, DataProduct, DataRow, Offer
from hub.db import Base
from hub.federated.models import FederatedRun, GlobalModel
from hub.federation.models import RegionalNode
from hub.identity.models import ApiClient, AuthorizationCode, RevokedToken, SigningKey, User
from hub.knowledge_market.models import (
    Entitlement,
    Installation,
    Listing,
    ListingReview,
    MarketKey,
    MarketPublisher,
    Release,
    ReleaseReview,
    UsageEvent,
)
from hub.organizations.models import Organization

__all__ = [
    "ApiClient",
    "AuditEntry",
    "AuditHead",
    "AuthorizationCode",
    "Base",
    "Contract",
    "DataProduct",
    "DataRow",
    "BoardPosting",
    "FederatedRun",
    "GlobalModel",
    "Entitlement",
    "Installation",
    "Listing",
    "ListingReview",
    "MarketKey",
    "MarketPublisher",
    "Release",
    "ReleaseReview",
    "UsageEvent",
    "Offer",
    "Organization",
    "RegionalNode",
    "RevokedToken",
    "SigningKey",
    "User",
]

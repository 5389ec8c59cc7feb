"""The hub's domains, in the order they start (and their GraphQL queries merge)."""

from __future__ import annotations

from hub.audit.domain import DOMAIN as audit
from hub.data_exchange.domain import DOMAIN as data_exchange
from hub.federated.domain import DOMAIN as federated
from hub.federation.domain import DOMAIN as federation
from hub.identity.domain import DOMAIN as identity
from hub.jobs.domain import DOMAIN as jobs
from hub.knowledge_market.domain import DOMAIN as knowledge_market
from hub.organizations.domain import DOMAIN as organizations
from hub.state import HubDomain
from hub.workers import EMBEDDED_WORKER

DOMAINS: list[HubDomain] = [
    federation,
    organizations,
    audit,
    identity,  # before the domains whose start uses the key ring
    federated,
    data_exchange,
    knowledge_market,
    jobs,
    EMBEDDED_WORKER,  # after the federated domain, whose runner its jobs drive
]

MUTATION_ORDER = (
    "federation",
    "federated",
    "data_exchange",
    "knowledge_market",
    "identity",
    "organizations",
)
"""The order the `Mutation` type's fields were first merged in (the committed schema's)."""

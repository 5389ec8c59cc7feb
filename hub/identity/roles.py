"""People's roles and the scopes each role lets a person's tokens carry.

Roles are a closed set. A person's token carries the scopes the app asked for, that the app may
ask for, and that one of the person's roles allows: nobody signs in to more than their roles give,
whichever app they use. Policies (policies/*.rego) then decide with the scopes, the roles and the
organization's kind, so a role is necessary, not sufficient (a node operator's scopes act only on
nodes their organization operates). docs/identity.md has the table.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    """A hub operator's administrator: users, clients, keys, node URLs (with `hub:admin`)."""
    AUDITOR = "auditor"
    """Reads the hub's audit log."""
    OPERATOR = "operator"
    """A hub operator's staff: watches the node directory and runs federated training."""
    NODE_OPERATOR = "node_operator"
    """Runs a regional node: onboards factories, watches devices, alerts, orders; installs apps."""
    FACTORY_STAFF = "factory_staff"
    """Works at a factory: its profile, devices, alert rules and inspection models."""
    BUYER = "buyer"
    """Places and follows orders."""
    DATA_CONSUMER = "data_consumer"
    """Finds data products and queries them under a contract."""
    PUBLISHER = "publisher"
    """Publishes market releases and data products."""
    REVIEWER = "reviewer"
    """Verifies publishers and countersigns releases (hub operator)."""


EVERYONE = frozenset({"openid", "profile", "email", "orgs:read", "nodes:read", "market:read"})
"""Scopes any signed-in person may have: who they are, and the platform's public directory."""

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset(
        {"hub:admin", "audit:read", "federated:read", "federated:run", "market:review"}
    ),
    Role.AUDITOR: frozenset({"audit:read"}),
    # The hub operator runs the exchange: its staff read the catalog, contracts and the board.
    Role.OPERATOR: frozenset({"federated:read", "federated:run", "exchange:read"}),
    Role.NODE_OPERATOR: frozenset(
        {"node:operate", "factories:read", "devices:write", "orders:read", "market:install"}
    ),
    Role.FACTORY_STAFF: frozenset(
        {"factories:read", "factories:write", "devices:write", "orders:read"}
    ),
    Role.BUYER: frozenset({"orders:read", "orders:write", "exchange:read"}),
    Role.DATA_CONSUMER: frozenset({"exchange:read", "exchange:write"}),
    Role.PUBLISHER: frozenset({"market:publish", "exchange:read", "exchange:publish"}),
    Role.REVIEWER: frozenset({"market:review"}),
}

PEOPLE_SCOPES = EVERYONE.union(*ROLE_SCOPES.values())
"""Every scope some person may have: what the built-in apps may ask for."""


def parse_roles(roles: list[str] | tuple[str, ...] | set[str]) -> list[Role]:
    """Roles by name, sorted and once each; an unknown name is a ValueError naming the known."""
    known = {role.value: role for role in Role}
    unknown = sorted(set(roles) - set(known))
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return sorted({known[name] for name in roles})


def allowed_scopes(roles: str | list[str]) -> frozenset[str]:
    """The scopes a person with these roles may have; names no longer known give nothing."""
    names = roles.split() if isinstance(roles, str) else roles
    known = {role.value: role for role in Role}
    return EVERYONE.union(*(ROLE_SCOPES[known[name]] for name in names if name in known))

"""The demo's people: one named user for every role, so each can sign in and do their own work.

A node operator, a quality engineer or a buyer trying the demo should not have to read source or
list the data folder to find who they can be. Each person here is made at the hub through the
hub's own identity service (as its console makes people: asked of the policy, audited), with a
random password made on the first run. The passwords are kept in one file in the demo's data
folder (mode 0600), so a rerun keeps every user and password and prints them only when they are
new; `--reset-passwords` makes new ones.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.settings import HubSettings

PASSWORDS_FILE = "demo-users.json"
DOMAIN = "demo.example"
"""RFC 2606 keeps `.example` for documentation: no demo address is anyone's mailbox."""

HUB_OPERATOR_ORG = "Yunfab Hub Operations"
BUYER_ORG = "Shared Bike Mobility Co."
BRAND_ORG = "Urban Ride Cycling Gear"
"""A brand selling online: its sales drive production on the moulding node (C2M)."""
CONSUMER_ORG = "Lingang Supply Chain Platform"
PUBLISHER_ORG = "Lingnan Mould Know-how Studio"

# Unambiguous symbols (no 0/O, 1/l/I), so a password read off a terminal is typed right.
_SYMBOLS = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_password() -> str:
    """Four groups of five from 57 symbols: about 116 bits, far beyond guessing."""
    return "-".join("".join(secrets.choice(_SYMBOLS) for _ in range(5)) for _ in range(4))


@dataclass(frozen=True)
class DemoPerson:
    role: str
    """The role as people say it: `node operator`, `buyer`..."""
    email: str
    name: str
    organization: str
    org_kind: str
    """The organization's kind at the hub (`hub.organizations.models.OrganizationKind`)."""
    roles: tuple[str, ...]
    """The hub roles the user holds: what a signed-in person's tokens may carry."""
    service: str
    """Where they work: `hub`, or the node's name (their GraphiQL is that node's)."""
    can: str


@dataclass(frozen=True)
class DemoSite:
    """A demo node and the factory whose staff get a user."""

    node: str
    factory_slug: str
    factory_name: str


def node_operator_org(node: str) -> str:
    """The organization that runs a node: the one the node's own client at the hub belongs to
    (`yunfab.processes.create_node_client`)."""
    return f"{node} operator"


def demo_people(sites: Iterable[DemoSite], *, buyer_node: str) -> tuple[DemoPerson, ...]:
    """Everyone the demo signs in: the hub operator, each node's operator, one factory's staff
    on each node, the buyer of the moulding node's order, the brand whose sales drive production
    there (C2M), a data consumer and a publisher."""
    sites = tuple(sites)
    people = [
        DemoPerson(
            role="hub operator",
            email=f"admin@hub.{DOMAIN}",
            name="Zhou Min",
            organization=HUB_OPERATOR_ORG,
            org_kind="hub_operator",
            roles=("admin", "auditor", "operator", "reviewer"),
            service="hub",
            can="manage people, clients and nodes; run federated learning; review market "
            "releases; read the audit log",
        )
    ]
    for site in sites:
        people.append(
            DemoPerson(
                role="node operator",
                email=f"operator@{site.node}.{DOMAIN}",
                name=f"{site.node} operator",
                organization=node_operator_org(site.node),
                org_kind="node_operator",
                roles=("node_operator",),
                service=site.node,
                can=f"onboard factories on {site.node}; watch devices, alerts and orders; plan "
                "and dispatch orders",
            )
        )
    for site in sites:
        people.append(
            DemoPerson(
                role="factory staff",
                email=f"staff@{site.factory_slug}.{DOMAIN}",
                name=f"{site.factory_name} staff",
                organization=site.factory_name,
                org_kind="factory",
                roles=("factory_staff",),
                service=site.node,
                can=f"see {site.factory_slug}'s devices, alerts and work orders; report work; "
                "train and switch inspection models",
            )
        )
    people += [
        DemoPerson(
            role="buyer",
            email=f"buyer@shared-bike.{DOMAIN}",
            name="Zhang Wei",
            organization=BUYER_ORG,
            org_kind="consumer",
            roles=("buyer",),
            service=buyer_node,
            can="place orders and follow them (the demo's SO order is theirs)",
        ),
        DemoPerson(
            role="brand",
            email=f"brand@urban-ride.{DOMAIN}",
            name="Wang Fang",
            organization=BRAND_ORG,
            org_kind="consumer",
            roles=("buyer",),
            service=buyer_node,
            can="upload its sales, forecast them and plan production of its configurable "
            "mudguards and plate frames (C2M); follow the orders made of them",
        ),
        DemoPerson(
            role="data consumer",
            email=f"analyst@lingang-supply-chain.{DOMAIN}",
            name="Liu Yang",
            organization=CONSUMER_ORG,
            org_kind="consumer",
            roles=("data_consumer",),
            service="hub",
            can="find data products, request contracts and query data under them",
        ),
        DemoPerson(
            role="publisher",
            email=f"publisher@mould-know-how.{DOMAIN}",
            name="Sun Hao",
            organization=PUBLISHER_ORG,
            org_kind="publisher",
            roles=("publisher",),
            service="hub",
            can="publish apps and knowledge on the hub's market",
        ),
    ]
    return tuple(people)


@dataclass(frozen=True)
class DemoAccount:
    person: DemoPerson
    password: str
    organization_id: str
    new: bool
    """Its password was made on this run (first run, or reset): shown once, now."""


@dataclass(frozen=True)
class DemoUsers:
    accounts: tuple[DemoAccount, ...]
    file: Path

    def organization_id(self, organization: str) -> str:
        for account in self.accounts:
            if account.person.organization == organization:
                return account.organization_id
        raise KeyError(organization)

    @property
    def new_passwords(self) -> bool:
        return any(account.new for account in self.accounts)


def read_passwords(file: Path) -> dict[str, str]:
    """Email -> password from the demo's passwords file; empty when there is none yet."""
    if not file.is_file():
        return {}
    try:
        listed = json.loads(file.read_text())["users"]
        return {str(user["email"]): str(user["password"]) for user in listed}
    except (ValueError, KeyError, TypeError):
        return {}


def write_passwords(file: Path, users: DemoUsers, sign_in: dict[str, str]) -> None:
    """The file people read their passwords from: readable by its owner only (0600), replaced
    whole so a stopped demo never leaves half of it."""
    body = {
        "note": "The yunfab demo's people. Sign in on the hub's page (GraphiQL at the URL "
        "below, or `yunfab login --hub URL`); `yunfab demo --reset-passwords` makes new ones.",
        "users": [
            {
                "role": account.person.role,
                "email": account.person.email,
                "password": account.password,
                "name": account.person.name,
                "organization": account.person.organization,
                "roles": list(account.person.roles),
                "sign_in": sign_in.get(account.person.service),
                "can": account.person.can,
            }
            for account in users.accounts
        ],
    }
    file.parent.mkdir(parents=True, exist_ok=True)
    scratch = file.with_name(f".{file.name}.tmp")
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        os.fchmod(out.fileno(), 0o600)
        json.dump(body, out, indent=2)
        out.write("\n")
    os.replace(scratch, file)


async def ensure_demo_users(
    settings: HubSettings,
    people: Sequence[DemoPerson],
    file: Path,
    *,
    hub_url: str,
    reset_passwords: bool = False,
) -> DemoUsers:
    """Each person's organization and user at the hub, made once, and the hub's own apps they
    sign in with (GraphiQL, the command line, the console) registered at `hub_url`. A user
    already there keeps the password in `file` and is given the demo's roles; one whose
    password is not there (the file was removed), or every one with `reset_passwords`, gets a
    new password. The hub's identity service audits each change; the apps' registration is
    audited here, as the hub's console does."""
    from hub.audit.service import append_entry
    from hub.identity import service
    from hub.identity.builtin import ensure_builtin_clients
    from hub.identity.errors import UserNotFound
    from hub.organizations.models import OrganizationKind
    from hub.organizations.service import ensure_organization
    from yunfab.authorization import Authorizer
    from yunfab.db import session_scope
    from yunfab.policy import create_engine as create_policy_engine
    from yunfab.service import Database
    from yunfab.subject import SYSTEM

    kept = read_passwords(file)
    authorizer = Authorizer(
        create_policy_engine(settings.policy_engine, settings.opa_url),
        context={"service": "hub", "env": settings.env.value},
    )
    for action in ("hub.users.create", "hub.users.update", "hub.clients.create"):
        await authorizer.check(SYSTEM, action)
    db = Database.open(settings.db_url)
    accounts = []
    try:
        async with session_scope(db.sessionmaker) as session:
            for person in people:
                organization = await ensure_organization(
                    session, name=person.organization, kind=OrganizationKind(person.org_kind)
                )
                if person.org_kind == "hub_operator":
                    apps = await ensure_builtin_clients(
                        session, hub_url=hub_url, organization_id=organization.id
                    )
                    await append_entry(
                        session,
                        actor=SYSTEM,
                        action="clients.create",
                        resource=" ".join(app.client_id for app in apps),
                        outcome="ok",
                    )
                password = None if reset_passwords else kept.get(person.email)
                made = password is None
                password = password or new_password()
                try:
                    user = await service.find_user(session, person.email)
                except UserNotFound:
                    await service.create_user(
                        session,
                        SYSTEM,
                        input=service.NewUser(
                            organization=person.organization,
                            email=person.email,
                            name=person.name,
                            password=password,
                            roles=list(person.roles),
                        ),
                    )
                else:
                    if sorted(user.roles.split()) != sorted(person.roles):
                        changes = service.UserChanges(roles=list(person.roles))
                        await service.update_user(session, SYSTEM, user_id=user.id, input=changes)
                    if made:
                        await service.reset_password(
                            session, SYSTEM, user_id=user.id, password=password
                        )
                accounts.append(
                    DemoAccount(
                        person=person,
                        password=password,
                        organization_id=str(organization.id),
                        new=made,
                    )
                )
    finally:
        await db.close()
    return DemoUsers(accounts=tuple(accounts), file=file)


def sign_in_table(users: DemoUsers, sign_in: dict[str, str]) -> list[str]:
    """The lines `yunfab demo` prints: who can sign in where and do what; passwords only when
    they were made now."""
    shown = users.new_passwords
    rows = [("role", "email", *(("password",) if shown else ()), "GraphiQL (sign in there)")]
    for account in users.accounts:
        person = account.person
        rows.append(
            (
                person.role,
                person.email,
                *((account.password if account.new else "(unchanged)",) if shown else ()),
                f"{sign_in[person.service]}/graphql",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["people (each signs in on the hub's page; what they can do below each):"]
    for index, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  " + "  ".join([*cells, row[-1]]))
        if index:
            lines.append(f"      {users.accounts[index - 1].person.can}")
    if shown:
        lines.append(
            f"new passwords are shown only now; all are kept in {users.file} (mode 0600, "
            "`yunfab demo --reset-passwords` makes new ones)"
        )
    else:
        lines.append(
            f"passwords: in {users.file} (mode 0600; `yunfab demo --reset-passwords` makes "
            "new ones)"
        )
    return lines

"""Who the caller is (`viewer`, `me`), and people managed by the hub operator's admins.

Every user operation is declared against the policy (hub.users.read, hub.users.create,
hub.users.update: admins of the hub operator with `hub:admin`, see policies/hub_identity.rego);
the service audits each change. One-time passwords appear once, in the mutation's payload.
"""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.types import Info

from hub.graphql.context import HubContext
from hub.identity import service
from hub.identity.capabilities import CAPABILITIES, capabilities
from hub.identity.models import User
from hub.identity.roles import Role
from hub.organizations.graphql.types import OrganizationLoader, OrganizationType
from hub.organizations.models import Organization
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Connection
from yunfab.graphql.permissions import allowed
from yunfab.graphql.resolvers import mutate, page_request, query, service_input
from yunfab.subject import SubjectKind

strawberry.enum(Role, name="Role", description="A person's role; see docs/identity.md.")

MAX_ROLES = len(Role)


def _capabilities_type() -> type:
    """One Boolean field per capability (hub/identity/capabilities.py), in its order."""
    namespace: dict[str, object] = {"__annotations__": {c.name: bool for c in CAPABILITIES}}
    for capability in CAPABILITIES:
        namespace[capability.name] = strawberry.field(description=capability.description + ".")
    return strawberry.type(
        type("HubCapabilitiesType", (), namespace),
        name="HubCapabilities",
        description="What the policy lets the caller do at the hub, asked as the real "
        "operation asks it (for a resource of the caller's own organization where the rule "
        "depends on one). For hiding what would be refused: each request is still decided on "
        "its own.",
    )


HubCapabilitiesType = _capabilities_type()


@strawberry.type(name="Viewer", description="Who the hub takes the caller to be, from their token.")
class ViewerType:
    kind: str
    id: str | None
    organization_id: str | None
    organization_kind: str | None
    region: str | None
    node: str | None
    scopes: list[str]
    roles: list[str]
    name: str | None = strawberry.field(description="A person's name, from their token.")
    email: str | None = strawberry.field(description="A person's email, from their token.")

    @strawberry.field(description="What the caller may do here (for the console's menus).")
    async def can(self, info: Info[HubContext, None]) -> HubCapabilitiesType:  # type: ignore[valid-type]
        # Built from CAPABILITIES at import, so mypy sees only a value of some class.
        return HubCapabilitiesType(**await capabilities(info.context))  # type: ignore[no-any-return]


@strawberry.type(name="User", description="A person who signs in at the hub.")
class UserType:
    id: uuid.UUID
    email: str
    name: str
    organization_id: uuid.UUID
    roles: list[Role]
    created_at: dt.datetime
    disabled_at: dt.datetime | None

    @strawberry.field(description="The person's organization.")
    async def organization(self, info: Info[HubContext, None]) -> OrganizationType | None:
        return await OrganizationLoader.of(info).load(self.organization_id)

    @classmethod
    def from_model(cls, user: User) -> UserType:
        known = {role.value: role for role in Role}
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            organization_id=user.organization_id,
            roles=[known[name] for name in user.roles.split() if name in known],
            created_at=user.created_at,
            disabled_at=user.disabled_at,
        )


@strawberry.type(name="Me", description="The signed-in person, their organization and rights.")
class MeType:
    user: UserType
    organization: OrganizationType
    roles: list[Role]
    scopes: list[str] = strawberry.field(description="The scopes of the token in use.")


@strawberry.type(name="UserWithPassword")
class UserWithPasswordType:
    user: UserType
    one_time_password: str | None = strawberry.field(
        description="Shown only in this answer when the hub made the password; give it to the "
        "person over a safe channel. Null when a password was given."
    )


@strawberry.input(name="UserFilter")
class UserFilterInput:
    search: str | None = strawberry.field(default=None, description="Part of email or name.")
    organization_id: uuid.UUID | None = None
    role: Role | None = None
    disabled: bool | None = None


@strawberry.input(name="CreateUserInput")
class CreateUserInput:
    email: str
    name: str
    organization: str = strawberry.field(description="The organization's name.")
    roles: list[Role]
    password: str | None = strawberry.field(
        default=None, description="Omit to have a one-time password made and returned once."
    )


@strawberry.input(name="UpdateUserInput")
class UpdateUserInput:
    name: str | None = None
    roles: list[Role] | None = None


def _roles(roles: list[Role]) -> list[str]:
    if len(roles) > MAX_ROLES:
        raise InvalidInput(f"at most {MAX_ROLES} roles")
    return [role.value for role in roles]


@strawberry.type
class IdentityQuery:
    @strawberry.field(permission_classes=[allowed("hub.viewer.read")])
    def viewer(self, info: Info[HubContext, None]) -> ViewerType:
        subject = info.context.subject
        return ViewerType(
            kind=subject.kind.value,
            id=subject.id,
            organization_id=subject.org_id,
            organization_kind=subject.org_kind,
            region=subject.region,
            node=subject.node,
            scopes=sorted(subject.scopes),
            roles=sorted(subject.roles),
            name=subject.name,
            email=subject.email,
        )

    @strawberry.field(
        description="The signed-in person; null for an API client's token.",
        permission_classes=[allowed("hub.viewer.read")],
    )
    async def me(self, info: Info[HubContext, None]) -> MeType | None:
        context = info.context
        subject = context.subject
        if subject.kind is not SubjectKind.USER or subject.id is None:
            return None
        try:
            user = await context.session.get(User, uuid.UUID(subject.id))
        except ValueError:
            return None
        if user is None:
            return None
        organization = await context.session.get(Organization, user.organization_id)
        assert organization is not None  # a user's organization is a foreign key, RESTRICT
        view = UserType.from_model(user)
        return MeType(
            user=view,
            organization=OrganizationType.from_model(organization),
            roles=view.roles,
            scopes=sorted(subject.scopes),
        )

    @strawberry.field(
        description="People, by email (hub administrators).",
        permission_classes=[allowed("hub.users.read")],
    )
    async def users(
        self,
        info: Info[HubContext, None],
        filter: UserFilterInput | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[UserType]:
        context = info.context
        request = page_request(context, first, after, arity=1)
        given = filter or UserFilterInput()
        page = await query(
            context,
            service.list_users,
            filter=service_input(
                service.UserFilter, given, role=given.role.value if given.role else None
            ),
            page=request,
        )
        return Connection.from_page(
            page, key=lambda user: (user.email,), node=UserType.from_model, after=after
        )

    @strawberry.field(
        description="One person (hub administrators).",
        permission_classes=[allowed("hub.users.read")],
    )
    async def user(self, info: Info[HubContext, None], id: uuid.UUID) -> UserType:
        return UserType.from_model(await service.get_user(info.context.session, id))


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(
        description="Create a person (hub administrators); without a password a one-time "
        "password is made and returned once.",
        permission_classes=[allowed("hub.users.create")],
    )
    async def create_user(
        self, info: Info[HubContext, None], input: CreateUserInput
    ) -> UserWithPasswordType:
        context = info.context
        created = await mutate(
            context,
            service.add_user,
            input=service_input(service.NewUser, input, roles=_roles(input.roles)),
        )
        return UserWithPasswordType(
            user=UserType.from_model(created.user), one_time_password=created.one_time_password
        )

    @strawberry.mutation(
        description="Rename a person or set their roles (hub administrators).",
        permission_classes=[allowed("hub.users.update")],
    )
    async def update_user(
        self, info: Info[HubContext, None], id: uuid.UUID, input: UpdateUserInput
    ) -> UserType:
        context = info.context
        roles = _roles(input.roles) if input.roles is not None else None
        user = await mutate(
            context,
            service.update_user,
            user_id=id,
            input=service.UserChanges(name=input.name, roles=roles),
        )
        return UserType.from_model(user)

    @strawberry.mutation(
        description="Give a person a new one-time password, returned once; their sessions and "
        "refresh tokens end (hub administrators).",
        permission_classes=[allowed("hub.users.update")],
    )
    async def reset_user_password(
        self, info: Info[HubContext, None], id: uuid.UUID
    ) -> UserWithPasswordType:
        context = info.context
        reset = await mutate(context, service.reset_password, user_id=id)
        return UserWithPasswordType(
            user=UserType.from_model(reset.user), one_time_password=reset.one_time_password
        )

    @strawberry.mutation(
        description="Refuse a person's sign-ins and revoke their sessions and refresh tokens "
        "(hub administrators).",
        permission_classes=[allowed("hub.users.update")],
    )
    async def disable_user(self, info: Info[HubContext, None], id: uuid.UUID) -> UserType:
        return await _set_disabled(info, id, disabled=True)

    @strawberry.mutation(
        description="Let a disabled person sign in again (hub administrators).",
        permission_classes=[allowed("hub.users.update")],
    )
    async def enable_user(self, info: Info[HubContext, None], id: uuid.UUID) -> UserType:
        return await _set_disabled(info, id, disabled=False)


async def _set_disabled(info: Info[HubContext, None], id: uuid.UUID, *, disabled: bool) -> UserType:
    context = info.context
    user = await mutate(context, service.set_disabled, user_id=id, disabled=disabled)
    return UserType.from_model(user)

# mypy: disallow-untyped-decorators=False
# (strawberry's field decorators with arguments are not typed as decorators; as for *.graphql.*)
"""The hub's administration in GraphQL: OAuth2 clients and their secrets, the token signing
keys and their rotation, the revocation list, and ending a person's sessions.

Each operation is declared against the policy (hub.clients.read, hub.clients.create,
hub.clients.update, hub.keys.rotate, hub.token.revoke: the hub operator's admins, see
policies/hub_identity.rego); changes are audited by the service. A client's secret appears only
in the answer of the mutation that made it.
"""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.types import Info

from hub.graphql.context import HubContext
from hub.identity import admin, service
from hub.identity.models import ApiClient, ClientKind, KeyStatus, RevokedToken, SigningKey
from hub.identity.oauth import SCOPES
from hub.organizations.graphql.types import OrganizationLoader, OrganizationType
from hub.settings import HubSettings
from hub.state import hub_state
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Connection
from yunfab.graphql.permissions import allowed
from yunfab.graphql.resolvers import mutate, mutate_then, page_request, service_input

strawberry.enum(ClientKind, name="ClientKind", description="What an OAuth2 client is.")
strawberry.enum(KeyStatus, name="SigningKeyStatus", description="A token signing key's state.")

MAX_SCOPES = len(SCOPES)
MAX_REDIRECT_URIS = 10
MAX_TEXT = 200


@strawberry.type(name="OAuthScope", description="A scope the hub issues, and what it allows.")
class OAuthScopeType:
    name: str
    description: str


@strawberry.type(name="ApiClient", description="An organization's OAuth2 client.")
class ApiClientType:
    id: uuid.UUID
    client_id: str = strawberry.field(description="What the client authenticates with.")
    name: str
    organization_id: uuid.UUID
    kind: ClientKind
    scopes: list[str]
    redirect_uris: list[str]
    node_name: str | None
    region: str | None
    public: bool = strawberry.field(description="No secret: an app in a browser, PKCE only.")
    created_at: dt.datetime
    disabled_at: dt.datetime | None

    @strawberry.field(description="The organization that owns the client.")
    async def organization(self, info: Info[HubContext, None]) -> OrganizationType | None:
        return await OrganizationLoader.of(info).load(self.organization_id)

    @classmethod
    def from_model(cls, client: ApiClient) -> ApiClientType:
        return cls(
            id=client.id,
            client_id=client.client_id,
            name=client.name,
            organization_id=client.organization_id,
            kind=client.kind,
            scopes=client.scopes.split(),
            redirect_uris=list(client.redirect_uris or []),
            node_name=client.node_name,
            region=client.region,
            public=client.secret_hash is None,
            created_at=client.created_at,
            disabled_at=client.disabled_at,
        )


@strawberry.type(name="ApiClientWithSecret")
class ApiClientWithSecretType:
    client: ApiClientType
    secret: str | None = strawberry.field(
        description="Shown only in this answer (only its hash is stored); null for a public client."
    )


@strawberry.type(name="SigningKey", description="A key that signs the hub's tokens.")
class SigningKeyType:
    kid: str
    algorithm: str
    status: KeyStatus
    encrypted: bool = strawberry.field(description="Stored encrypted with the passphrase.")
    created_at: dt.datetime
    rotated_at: dt.datetime | None = strawberry.field(description="When it stopped signing.")

    @classmethod
    def from_model(cls, key: SigningKey) -> SigningKeyType:
        return cls(
            kid=key.kid,
            algorithm=key.algorithm,
            status=key.status,
            encrypted=key.encrypted,
            created_at=key.created_at,
            rotated_at=key.rotated_at,
        )


@strawberry.type(name="RevokedToken", description="A token id on the deny-list.")
class RevokedTokenType:
    seq: int
    jti: str
    client_id: str | None = strawberry.field(description="The client the token was issued to.")
    revoked_at: dt.datetime
    expires_at: dt.datetime = strawberry.field(
        description="After this the entry no longer matters."
    )

    @classmethod
    def from_model(cls, row: RevokedToken) -> RevokedTokenType:
        return cls(
            seq=row.seq,
            jti=row.jti,
            client_id=row.client_id,
            revoked_at=row.revoked_at,
            expires_at=row.expires_at,
        )


@strawberry.type(name="EndedSessions")
class EndedSessionsType:
    sessions: int = strawberry.field(description="Browser sessions that were live.")
    refresh_tokens: int = strawberry.field(description="Refresh tokens that were live.")


@strawberry.input(name="ApiClientFilter")
class ApiClientFilterInput:
    organization_id: uuid.UUID | None = None
    kind: ClientKind | None = None
    search: str | None = strawberry.field(default=None, description="Part of name or client id.")
    disabled: bool | None = None


@strawberry.input(name="CreateApiClientInput")
class CreateApiClientInput:
    organization: str = strawberry.field(description="The organization's name.")
    name: str
    kind: ClientKind
    scopes: list[str]
    redirect_uris: list[str] = strawberry.field(default_factory=list)
    node_name: str | None = strawberry.field(default=None, description="A node client's node.")
    region: str | None = strawberry.field(default=None, description="A node client's region.")
    public: bool = strawberry.field(default=False, description="No secret (an app using PKCE).")


def _check_client_input(input: CreateApiClientInput) -> None:
    name = input.name.strip()
    if not 1 <= len(name) <= MAX_TEXT or len(input.organization) > MAX_TEXT:
        raise InvalidInput(f"a client's name must be 1 to {MAX_TEXT} characters")
    if len(input.scopes) > MAX_SCOPES:
        raise InvalidInput(f"at most {MAX_SCOPES} scopes")
    if len(input.redirect_uris) > MAX_REDIRECT_URIS:
        raise InvalidInput(f"at most {MAX_REDIRECT_URIS} redirect URIs")
    if any(len(uri) > 2000 for uri in input.redirect_uris):
        raise InvalidInput("a redirect URI is at most 2000 characters")
    if input.public and input.kind is not ClientKind.APP:
        raise InvalidInput("only an app client can be public")


def _settings(info: Info[HubContext, None]) -> HubSettings:
    return info.context.settings


@strawberry.type
class AdminQuery:
    @strawberry.field(description="The scopes the hub issues (for choosing a client's scopes).")
    def oauth_scopes(self) -> list[OAuthScopeType]:
        return [OAuthScopeType(name=name, description=text) for name, text in SCOPES.items()]

    @strawberry.field(
        description="OAuth2 clients, by client id (hub administrators).",
        permission_classes=[allowed("hub.clients.read")],
    )
    async def api_clients(
        self,
        info: Info[HubContext, None],
        filter: ApiClientFilterInput | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[ApiClientType]:
        context = info.context
        given = filter or ApiClientFilterInput()
        page = await admin.list_clients(
            context.session,
            filter=service_input(admin.ClientFilter, given),
            page=page_request(context, first, after, arity=1),
        )
        return Connection.from_page(
            page, key=lambda c: (c.client_id,), node=ApiClientType.from_model, after=after
        )

    @strawberry.field(
        description="The token signing keys, newest first: the active one signs, the previous "
        "one still verifies what it signed (hub administrators).",
        permission_classes=[allowed("hub.keys.rotate")],
    )
    async def signing_keys(self, info: Info[HubContext, None]) -> list[SigningKeyType]:
        keys = await admin.list_signing_keys(info.context.session)
        return [SigningKeyType.from_model(key) for key in keys]

    @strawberry.field(
        description="Revoked token ids, newest first; expired ones only with includeExpired "
        "(hub administrators).",
        permission_classes=[allowed("hub.token.revoke")],
    )
    async def revoked_tokens(
        self,
        info: Info[HubContext, None],
        first: int = 50,
        after: str | None = None,
        include_expired: bool = False,
    ) -> Connection[RevokedTokenType]:
        context = info.context
        page = await admin.list_revocations(
            context.session,
            page=page_request(context, first, after, arity=1, types=(int,)),
            include_expired=include_expired,
        )  # fmt: skip
        return Connection.from_page(
            page, key=lambda r: (r.seq,), node=RevokedTokenType.from_model, after=after
        )


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        description="Create an OAuth2 client for an organization (hub administrators); its "
        "secret is returned once.",
        permission_classes=[allowed("hub.clients.create")],
    )
    async def create_api_client(
        self, info: Info[HubContext, None], input: CreateApiClientInput
    ) -> ApiClientWithSecretType:
        _check_client_input(input)
        context = info.context
        created, _ = await mutate_then(
            context,
            service.create_client,
            lambda session, created: admin.audit_client_created(
                session, context.subject, created.client
            ),
            input=service.NewClient(
                organization=input.organization,
                name=input.name.strip(),
                kind=input.kind,
                scopes=list(input.scopes),
                redirect_uris=list(input.redirect_uris),
                node_name=input.node_name or None,
                region=input.region or None,
                public=input.public,
            ),
        )
        return ApiClientWithSecretType(
            client=ApiClientType.from_model(created.client), secret=created.secret
        )

    @strawberry.mutation(
        description="Give a confidential client a new secret, returned once; the old one stops "
        "working at once (hub administrators).",
        permission_classes=[allowed("hub.clients.update")],
    )
    async def rotate_api_client_secret(
        self, info: Info[HubContext, None], id: uuid.UUID
    ) -> ApiClientWithSecretType:
        context = info.context
        rotated = await mutate(context, admin.rotate_client_secret, id=id)
        return ApiClientWithSecretType(
            client=ApiClientType.from_model(rotated.client), secret=rotated.secret
        )

    @strawberry.mutation(
        description="Refuse a client new tokens (hub administrators).",
        permission_classes=[allowed("hub.clients.update")],
    )
    async def disable_api_client(
        self, info: Info[HubContext, None], id: uuid.UUID
    ) -> ApiClientType:
        return await _client_disabled(info, id, disabled=True)

    @strawberry.mutation(
        description="Let a disabled client get tokens again (hub administrators).",
        permission_classes=[allowed("hub.clients.update")],
    )
    async def enable_api_client(self, info: Info[HubContext, None], id: uuid.UUID) -> ApiClientType:
        return await _client_disabled(info, id, disabled=False)

    @strawberry.mutation(
        description="Make a new active signing key; the active one becomes previous (it still "
        "verifies its tokens until they expire). As POST /api/v1/admin/keys/rotate "
        "(hub administrators).",
        permission_classes=[allowed("hub.keys.rotate")],
    )
    async def rotate_signing_key(self, info: Info[HubContext, None]) -> SigningKeyType:
        context = info.context
        settings = _settings(info)
        key = await mutate(
            context,
            admin.rotate_signing_key,
            passphrase=settings.key_passphrase,
            retire_after=settings.key_retire_after,
        )
        view = SigningKeyType.from_model(key)
        request = getattr(context, "request", None)
        if request is not None:
            await hub_state(request.app).keyring.load()
        return view

    @strawberry.mutation(
        description="Sign a person out everywhere: their hub sessions end and their refresh "
        "tokens are revoked; access tokens already issued expire within the token lifetime "
        "(hub administrators).",
        permission_classes=[allowed("hub.token.revoke")],
    )
    async def revoke_user_sessions(
        self, info: Info[HubContext, None], id: uuid.UUID
    ) -> EndedSessionsType:
        context = info.context
        ended = await mutate(context, admin.revoke_user_sessions, user_id=id)
        return EndedSessionsType(sessions=ended.sessions, refresh_tokens=ended.refresh_tokens)


async def _client_disabled(
    info: Info[HubContext, None], id: uuid.UUID, *, disabled: bool
) -> ApiClientType:
    context = info.context
    client = await mutate(context, admin.set_client_disabled, id=id, disabled=disabled)
    return ApiClientType.from_model(client)

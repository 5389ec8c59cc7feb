"""Settings shared by hub and nodes, and the one place a bad setting turns into one clear line.

Each service reads its own prefix (`YUNFAB_HUB_*`, `YUNFAB_NODE_*`); command-line options override
the environment. A setting that fails validation ends the process with a line naming the setting.
"""

from __future__ import annotations

import enum
import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

_REGION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
_SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(enum.StrEnum):
    AUTO = "auto"
    CONSOLE = "console"
    JSON = "json"


def check_region(value: str) -> str:
    """Regions are ISO 3166-2 codes (`CN-ZJ` Zhejiang, `CN-GD` Guangdong) or a country (`CN`)."""
    if not _REGION.match(value):
        raise ValueError(f"{value!r} is not an ISO 3166-2 region code such as CN-ZJ or CN-GD")
    return value


def check_slug(value: str) -> str:
    if not _SLUG.match(value) or len(value) > 63:
        raise ValueError(
            f"{value!r} must be lower-case letters, digits and single hyphens, "
            "starting with a letter, at most 63 characters (e.g. zj-textile)"
        )
    return value


Region = Annotated[str, AfterValidator(check_region)]
Slug = Annotated[str, AfterValidator(check_slug)]

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def normalize_database_url(value: str) -> str:
    """Accept the URLs people write and return one with the async driver we run on.

    `sqlite:///path`, `postgresql://user@host/db` and `postgres://...` are all taken; anything
    else (another database, another driver, an in-memory SQLite that each connection would see
    empty) is refused with the reason.
    """
    if value.startswith("postgres://"):
        value = "postgresql://" + value.removeprefix("postgres://")
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ValueError(f"{value!r} is not a database URL") from exc
    backend = url.get_backend_name()
    driver = url.get_driver_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(
            f"unsupported database {backend!r}; use sqlite:///PATH or postgresql://USER@HOST/DB"
        )
    expected = _ASYNC_DRIVERS[backend].split("+")[1]
    if url.drivername != backend and driver != expected:
        raise ValueError(
            f"unsupported driver {driver!r} for {backend}; leave it out or use {expected}"
        )
    if backend == "sqlite" and (not url.database or url.database == ":memory:"):
        raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
    if backend == "postgresql" and not url.database:
        raise ValueError("the PostgreSQL URL names no database")
    return url.set(drivername=_ASYNC_DRIVERS[backend]).render_as_string(hide_password=False)


def normalize_url(url: str) -> str:
    """A service URL in one spelling: lower-case scheme and host, no trailing dot in the host
    (`zj.example.com.` is the same name, and must not pass for another URL), no default port,
    no trailing slash. Raises ValueError for anything that is not an absolute http(s) URL."""
    parsed = _HTTP_URL.validate_python(url)
    host = parsed.host or ""
    if host.endswith("."):
        if not host.rstrip("."):
            raise ValueError(f"{url!r} has no host name")
        parsed = AnyHttpUrl.build(
            scheme=parsed.scheme,
            username=parsed.username,
            password=parsed.password,
            host=host.rstrip("."),
            port=parsed.port,
            path=(parsed.path or "").lstrip("/") or None,
            query=parsed.query,
            fragment=parsed.fragment,
        )
    return str(parsed).rstrip("/")


_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def sqlite_url(path: Path) -> str:
    return URL.create("sqlite+aiosqlite", database=str(path)).render_as_string()


class ServiceSettings(BaseSettings):
    """What every Yunfab service reads; subclasses set the prefix and add their own."""

    model_config = SettingsConfigDict(extra="ignore", validate_default=True)

    env: Environment = Environment.PRODUCTION
    """Production unless told otherwise, so a deployment that forgets to say gets production's
    checks (secrets required, no introspection) rather than development's ease; the
    demo and the tests set `development`."""
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("./var")
    database_url: str | None = None
    log_level: str = "info"
    log_format: LogFormat = LogFormat.AUTO
    auto_migrate: bool | None = None
    """Upgrade the database on start; defaults to on in development, off in production
    (where a migration job runs `yunfab db upgrade` before the new version rolls out)."""
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 5000
    graphql_max_page_size: int = 100
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    """The largest request body of a route without a limit of its own (REST JSON, OAuth forms,
    data-exchange batches): a larger one is refused with 413, by its Content-Length unread."""
    graphql_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    """The largest `/graphql` request body; refused with 413 like `max_body_bytes`."""
    graphql_max_selections: int = Field(default=300, ge=1)
    """Fields one document may select, counted with its fragments expanded; a larger document is
    refused (`GRAPHQL_QUERY_TOO_COMPLEX`) before it is validated."""
    graphql_anonymous_rate: float = Field(default=10.0, ge=0)
    """GraphQL requests per second one address may make without a token, on average (429 with
    Retry-After beyond it); 0 turns the limit off."""
    graphql_anonymous_burst: int = Field(default=50, ge=1)
    """How many anonymous GraphQL requests one address may make at once before the rate holds."""
    graphql_apq_max_entries: int = Field(default=2000, ge=0)
    """Automatic persisted queries: how many documents each process remembers by hash (least
    recently used out first); 0 turns persisted queries off (PERSISTED_QUERY_NOT_SUPPORTED)."""
    graphql_apq_max_bytes: int = Field(default=8 * 1024 * 1024, ge=0)
    """The most bytes of persisted documents each process keeps, all together."""
    graphql_introspection: bool | None = None
    """Schema introspection (`__schema`, `__type`); on in development, off in production."""
    graphql_suggestions: bool | None = None
    """"Did you mean ...?" hints in GraphQL errors; on in development, off in production."""
    policy_engine: Literal["embedded", "opa"] = "embedded"
    """Embedded regorus, or an OPA server (a production sidecar) at `opa_url`."""
    opa_url: str | None = None
    token_audience: str | None = None
    """The `aud` access tokens must carry to be accepted here (RFC 8707 resource); defaults to
    this service's own public URL, so a token for one node is useless at another."""
    forwarded_allow_ips: str | None = None
    """Proxies (comma-separated addresses, e.g. the ingress) whose X-Forwarded-For is believed,
    so per-caller limits see the real client; none by default."""
    graphiql: bool = True
    """GraphiQL at `/graphiql` (and for a browser opening `/graphql`), from files inside the
    package; it signs in through the hub as the person using it, so it sees what they may (and
    the schema only where `graphql_introspection` allows)."""
    api_docs: bool = True
    """Swagger UI at `/docs` for the REST API (from files inside the package); `/openapi.json`
    is served either way."""
    console_dir: Path | None = None
    """The built web console (`npm run build` in console/ leaves it in console/dist) served at
    `/`; default: the repository's console/dist when there is one. Where none is built, `/`
    says how to build it."""

    @model_validator(mode="after")
    def _derive(self) -> ServiceSettings:
        if not 0 <= self.port <= 65535:
            raise ValueError("port: must be between 0 and 65535")
        if self.database_url is None:
            self.database_url = sqlite_url(self.data_dir.resolve() / self.default_database_file)
        else:
            try:
                self.database_url = normalize_database_url(self.database_url)
            except ValueError as exc:
                raise ValueError(f"database_url: {exc}") from exc
        if self.policy_engine == "opa" and not self.opa_url:
            raise ValueError("opa_url: required when policy_engine is opa")
        if self.auto_migrate is None:
            self.auto_migrate = self.env is Environment.DEVELOPMENT
        if self.graphql_introspection is None:
            self.graphql_introspection = self.env is Environment.DEVELOPMENT
        if self.graphql_suggestions is None:
            self.graphql_suggestions = self.env is Environment.DEVELOPMENT
        return self

    default_database_file: ClassVar[str] = "yunfab.db"

    @property
    def development(self) -> bool:
        return self.env is Environment.DEVELOPMENT

    @property
    def db_url(self) -> str:
        assert self.database_url is not None
        return self.database_url


class SettingsError(Exception):
    """A setting failed validation; `str()` is the one line shown to the operator."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"invalid setting {setting}: {message}")
        self.setting = setting


S = TypeVar("S", bound=ServiceSettings)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment plus explicit overrides (None means not given)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    prefix = str(cls.model_config.get("env_prefix", ""))
    try:
        return cls(**given)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error.get("loc", ())]
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        field = loc[0] if loc else ""
        if not field and ": " in message:
            field, message = message.split(": ", 1)
        setting = f"{prefix}{field.upper()}" if field else prefix.rstrip("_")
        env_unset = "env" not in given and f"{prefix}ENV" not in map(str.upper, os.environ)
        if env_unset and "development" in message:
            # A production check refused: say why it applies to someone who never chose it.
            message += f" ({prefix}ENV is not set, so production applies; set it to development "
            message += "for a local trial)"
        raise SettingsError(setting, message) from exc

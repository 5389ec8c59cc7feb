"""What the operators' consoles (`yunfab hub ...`, `yunfab node ...`) share: one-line failures
with the documented exit codes, settings, and running a command's coroutine.

Every command runs under `ConsoleGroup`, the root command's class: whatever a command raises ends
as one line on stderr that says what to do, and one of the exit codes below, the same for every
command (docs/cli.md). `--debug` or YUNFAB_DEBUG=1 lets the exception through, traceback and all.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import httpx
import pydantic
import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from typer.core import TyperGroup

from yunfab.errors import YunfabError
from yunfab.service import Database
from yunfab.settings import ServiceSettings, SettingsError, load_settings

T = TypeVar("T")
S = TypeVar("S", bound=ServiceSettings)

DEBUG_ENV = "YUNFAB_DEBUG"

EXIT_OK = 0
EXIT_ERROR = 1
"""The server, the database or the command refused or failed: read the line, fix, retry."""
EXIT_USAGE = 2
"""Bad options, settings or input files: nothing was sent anywhere."""
EXIT_AUTH = 3
"""Not signed in, a token that is not (or no longer) accepted, or not allowed."""
EXIT_NOT_FOUND = 4
"""What was named is not there (or not visible to the caller)."""
EXIT_UNREACHABLE = 5
"""The server (or database) could not be reached: check its URL, that it runs, the network."""

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 refused or failed, 2 bad usage, 3 not signed in or not allowed, "
    "4 not found, 5 cannot reach the server."
)
_COMMAND = "yunfab.command"
_SETTINGS = "yunfab.settings"


class CommandError(Exception):
    """A failure a command explains itself: one line and its exit code, raised from code that
    should not call `typer.Exit` (a library under the command)."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Exit with one line on stderr and one of the documented exit codes (`EXIT_*`)."""
    typer.echo(f"yunfab: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit(cls: type[S], **options: Any) -> S:
    try:
        settings = load_settings(cls, **options)
    except SettingsError as exc:
        fail(str(exc))
    context = click.get_current_context(silent=True)
    if context is not None:
        context.meta[_SETTINGS] = settings  # for the database's name in a failure's line
    return settings


def open_database(settings: ServiceSettings) -> Database:
    """The service's existing database: a SQLite file that is not there is a wrong --data-dir or
    a database never set up, not a new database to create where the console was pointed."""
    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite" and url.database:
        path = Path(url.database)
        if not path.is_file():
            service = _service(type(settings))
            fail(
                f"no {service} database at {path}: check --data-dir ({_prefix(settings)}DATA_DIR), "
                f"or run `yunfab db upgrade {service}` with it first"
            )
    return Database.open(settings.db_url)


def run_command(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a console command; a refusal (policy, validation, conflict) exits 1 with its code.
    Anything else is explained by `ConsoleGroup`."""
    try:
        return asyncio.run(main())
    except YunfabError as exc:
        fail(f"{exc.code}: {exc.detail}", code=error_exit_code(exc.code))


def error_exit_code(code: str) -> int:
    """The exit code for a stable error code, ours or a GraphQL one (`NOT_FOUND`,
    `FACTORY_NOT_FOUND`, `UNAUTHENTICATED`, `invalid_token`, ...)."""
    lowered = code.lower()
    if lowered in ("unauthenticated", "forbidden", "invalid_token", "insufficient_scope"):
        return EXIT_AUTH
    if lowered == "not_found" or lowered.endswith("_not_found"):
        return EXIT_NOT_FOUND
    return EXIT_ERROR


class ConsoleGroup(TyperGroup):
    """The root `yunfab` command: maps what any command raises to one line and an exit code."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        ctx.meta[_COMMAND] = name
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            if ctx.params.get("debug") or _truthy(os.environ.get(DEBUG_ENV)):
                raise
            message, code = explain(exc, command=ctx.meta.get(_COMMAND), settings=_settings(ctx))
            fail(message, code)


def explain(
    exc: BaseException, *, command: str | None = None, settings: ServiceSettings | None = None
) -> tuple[str, int]:
    """One line that says what went wrong and what to do, and the exit code."""
    service = command if command in ("hub", "node") else (_service(type(settings)) or None)
    if isinstance(exc, CommandError):
        return exc.message, exc.exit_code
    if isinstance(exc, YunfabError):
        return f"{exc.code}: {exc.detail}", error_exit_code(exc.code)
    if isinstance(exc, SettingsError):
        return str(exc), 2
    if isinstance(exc, DBAPIError):
        return _database_problem(exc, service, settings)
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", 2
    if isinstance(exc, pydantic.ValidationError):
        error = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
        where = ".".join(str(part) for part in error.get("loc", ()))
        return f"invalid input: {where + ': ' if where else ''}{error.get('msg')}", 2
    if isinstance(exc, httpx.HTTPError):
        try:
            target = f" {exc.request.url}"
        except RuntimeError:  # no request attached
            target = ""
        return (
            f"cannot reach{target}: {_first_line(exc) or type(exc).__name__}: check the URL "
            "and that the server runs",
            EXIT_UNREACHABLE,
        )
    if isinstance(exc, ConnectionError | TimeoutError):
        return f"cannot connect: {_first_line(exc) or type(exc).__name__}", EXIT_UNREACHABLE
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or _first_line(exc)}", 2
    return (
        f"unexpected {type(exc).__name__}: {_first_line(exc)} "
        f"(run with --debug or {DEBUG_ENV}=1 for the traceback)",
        1,
    )


def _database_problem(
    exc: DBAPIError, service: str | None, settings: ServiceSettings | None
) -> tuple[str, int]:
    cause = _first_line(exc.orig) if exc.orig is not None else _first_line(exc)
    text = f"{type(exc.orig).__name__} {cause}".lower()
    where = (
        make_url(settings.db_url).render_as_string(hide_password=True) if settings else "database"
    )
    upgrade = f"`yunfab db upgrade {service}`" if service else "`yunfab db upgrade hub|node`"
    same = " with the same --data-dir / --database-url"
    if (
        "no such table" in text
        or "undefinedtable" in text
        or ("relation" in text and "does not exist" in text)
    ):
        return f"the database {where} is not set up ({cause}): run {upgrade}{same} first", 1
    if "no such column" in text or "undefinedcolumn" in text:
        return f"the database {where} is older than this version: run {upgrade}{same}", 1
    if "unable to open database file" in text:
        prefix = _prefix(settings) if settings else "YUNFAB_*_"
        return f"cannot open the database {where}: check --data-dir ({prefix}DATA_DIR)", 2
    if "database is locked" in text:
        return f"the database {where} stayed locked by another writer: try again", 1
    if exc.connection_invalidated or any(
        hint in text
        for hint in ("connect", "does not exist", "authentication failed", "refused", "timeout")
    ):
        return f"cannot connect to the database {where}: {cause}", EXIT_UNREACHABLE
    return f"database error on {where}: {cause}", 1


def _settings(ctx: click.Context) -> ServiceSettings | None:
    settings = ctx.meta.get(_SETTINGS)
    return settings if isinstance(settings, ServiceSettings) else None


def _service(cls: type[ServiceSettings] | type[None]) -> str:
    prefix = str(getattr(cls, "model_config", {}).get("env_prefix", ""))
    return prefix.removeprefix("YUNFAB_").removesuffix("_").lower()


def _prefix(settings: ServiceSettings) -> str:
    return str(settings.model_config.get("env_prefix", ""))


def _first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else ""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")

"""What the operators' consoles (`yunfab hub ...`, `yunfab node ...`) share: one-line failures
with the documented exit codes, settings, and running a command's coroutine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import typer

from yunfab.errors import YunfabError
from yunfab.settings import ServiceSettings, SettingsError, load_settings

T = TypeVar("T")
S = TypeVar("S", bound=ServiceSettings)


def fail(message: str, code: int = 2) -> NoReturn:
    """Exit with one line on stderr: 2 for bad settings or options, 1 for a refused action."""
    typer.echo(f"yunfab: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit(cls: type[S], **options: Any) -> S:
    try:
        return load_settings(cls, **options)
    except SettingsError as exc:
        fail(str(exc))


def run_command(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a console command; a refusal (policy, validation, conflict) exits 1 with its code."""
    try:
        return asyncio.run(main())
    except YunfabError as exc:
        fail(f"{exc.code}: {exc.detail}", code=1)

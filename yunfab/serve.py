"""Run an ASGI app under uvicorn on a socket bound before start-up.

Binding first turns "port in use" into one clear line naming the setting, instead of a server
that logs an error after start-up work is done.

Once started, what start-up built (modules, the GraphQL schema, policies, models) is moved out of
the garbage collector's sight (`gc.freeze`): a service holds some 300,000 such objects, and each
full collection walked all of them again, a third of a node's CPU under a steady read load. The
young generation's threshold is raised for the same reason: a GraphQL request allocates
thousands of short-lived objects, and collecting every 700 allocations mostly scanned live ones.
"""

from __future__ import annotations

import errno
import gc
import socket

import uvicorn
from fastapi import FastAPI

from yunfab.settings import ServiceSettings, SettingsError

GRACEFUL_SHUTDOWN_S = 10
YOUNG_GC_THRESHOLD = 20_000
"""Allocations (less deallocations) between collections of the youngest generation; Python's
default is 700."""


def bind(settings: ServiceSettings) -> socket.socket:
    prefix = str(settings.model_config.get("env_prefix", ""))
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    try:
        sock = socket.create_server((settings.host, settings.port), family=family)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise SettingsError(
                f"{prefix}PORT", f"{settings.host}:{settings.port} is already in use"
            ) from exc
        raise SettingsError(
            f"{prefix}HOST", f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
        ) from exc
    sock.set_inheritable(True)
    return sock


def bound_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def run(app: FastAPI, sock: socket.socket, settings: ServiceSettings) -> None:
    trusted = settings.forwarded_allow_ips
    config = uvicorn.Config(
        app,
        log_config=None,
        lifespan="on",
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or "",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    _Server(config).run(sockets=[sock])


class _Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        settle_heap()


def settle_heap() -> None:
    """What start-up left is kept for the process's life: collect once, then keep the
    collector to what requests allocate."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, older, oldest)

"""Run an ASGI app under uvicorn on a socket bound before start-up.

Binding first turns "port in use" into one clear line naming the setting, instead of a server
that logs an error after start-up work is done.
"""

from __future__ import annotations

import errno
import socket

import uvicorn
from fastapi import FastAPI

from yunfab.settings import ServiceSettings, SettingsError

GRACEFUL_SHUTDOWN_S = 10


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
    uvicorn.Server(config).run(sockets=[sock])

"""Two backends over the same `.rego` files: regorus embedded in-process (default) and an OPA
server (production sidecar) through opa-python-client.

Deny by default: an undefined result, an engine error or an unreachable OPA is a denial, logged.
Lists are decided in one evaluation (`decide_many`), not one call per row.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import regorus
import structlog

from policies import ENTRYPOINT, POLICY_DIR, policy_files

log = structlog.get_logger(__name__)

_KEEP_ALIVE: list[Any] = []


@dataclass(frozen=True)
class PolicyInput:
    subject: Mapping[str, Any]
    action: str
    resource: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {
            "subject": dict(self.subject),
            "action": self.action,
            "resource": dict(self.resource),
            "context": dict(self.context),
        }

    def batch(self, resources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        document = self.document()
        document["resources"] = [dict(resource) for resource in resources]
        return document


class PolicyEngine(Protocol):
    async def allows(self, request: PolicyInput) -> bool: ...

    async def decide(self, rule: str, document: Mapping[str, Any]) -> Any:
        """The value of a rule of the policy package (not a yes/no), e.g. the terms a request
        breaks. Raises when the engine cannot answer: callers treat that as a refusal."""

    async def allows_each(
        self, request: PolicyInput, resources: Sequence[Mapping[str, Any]]
    ) -> list[bool]: ...


def _as_decisions(value: Any, expected: int) -> list[bool]:
    if not isinstance(value, list) or len(value) != expected:
        raise TypeError(f"policy returned {type(value).__name__} for {expected} resources")
    return [item is True for item in value]


class EmbeddedEngine:
    """regorus in-process. An engine may not cross threads (not even to be cloned), so each
    thread compiles its own from the same sources on first use."""

    def __init__(self, directory: Path = POLICY_DIR, *, entrypoint: str = ENTRYPOINT) -> None:
        self.entrypoint = entrypoint
        self._sources = [(path.name, path.read_text()) for path in policy_files(directory)]
        self._local = threading.local()
        self._engine()  # compile now: a policy that does not parse fails at start-up

    def _engine(self) -> Any:
        engine = getattr(self._local, "engine", None)
        if engine is None:
            engine = regorus.Engine()
            for name, text in self._sources:
                engine.add_policy(name, text)
            self._local.engine = engine
            # regorus panics if an engine is freed on another thread than its own, as a
            # thread-local may be once its thread ends; so each engine is also kept for the
            # process's life: one per thread that ever decided, in practice the event loop's.
            _KEEP_ALIVE.append(engine)
        return engine

    def evaluate(self, document: Mapping[str, Any], rule: str) -> Any:
        engine = self._engine()
        engine.set_input(dict(document))
        return engine.eval_rule(f"{self.entrypoint}.{rule}")

    def allows_sync(self, request: PolicyInput) -> bool:
        try:
            return self.evaluate(request.document(), "allow") is True
        except Exception:
            log.exception("policy_error", action=request.action)
            return False

    async def allows(self, request: PolicyInput) -> bool:
        return self.allows_sync(request)

    async def decide(self, rule: str, document: Mapping[str, Any]) -> Any:
        # Through JSON: a Rego set of objects has no Python set to become.
        engine = self._engine()
        engine.set_input_json(json.dumps(dict(document), default=str))
        return json.loads(engine.eval_rule_as_json(f"{self.entrypoint}.{rule}"))

    async def allows_each(
        self, request: PolicyInput, resources: Sequence[Mapping[str, Any]]
    ) -> list[bool]:
        if not resources:
            return []
        try:
            return _as_decisions(self.evaluate(request.batch(resources), "allowed"), len(resources))
        except Exception:
            log.exception("policy_error", action=request.action)
            return [False] * len(resources)


class OpaEngine:
    """An OPA server (e.g. a sidecar loading `policies/`), asked over its REST data API."""

    def __init__(self, url: str, *, timeout_s: float = 1.5, entrypoint: str = ENTRYPOINT) -> None:
        from opa_client import OpaClient

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OPA URL must be http(s)://HOST:PORT, not {url!r}")
        self._client = OpaClient(
            host=parts.hostname,
            port=parts.port or (443 if parts.scheme == "https" else 8181),
            ssl=parts.scheme == "https",
            timeout=timeout_s,
            retries=0,
        )
        self._package = entrypoint.removeprefix("data.")

    def _query(self, document: Mapping[str, Any], rule: str) -> Any:
        answer = self._client.query_rule(
            input_data=json.loads(json.dumps(document)), package_path=self._package, rule_name=rule
        )
        return answer.get("result")

    async def decide(self, rule: str, document: Mapping[str, Any]) -> Any:
        return await asyncio.to_thread(self._query, document, rule)

    async def allows(self, request: PolicyInput) -> bool:
        try:
            result = await asyncio.to_thread(self._query, request.document(), "allow")
        except Exception:
            log.exception("policy_error", action=request.action, engine="opa")
            return False
        return result is True

    async def allows_each(
        self, request: PolicyInput, resources: Sequence[Mapping[str, Any]]
    ) -> list[bool]:
        if not resources:
            return []
        try:
            result = await asyncio.to_thread(self._query, request.batch(resources), "allowed")
            return _as_decisions(result, len(resources))
        except Exception:
            log.exception("policy_error", action=request.action, engine="opa")
            return [False] * len(resources)


def create_engine(kind: str, opa_url: str | None = None) -> PolicyEngine:
    if kind == "embedded":
        return EmbeddedEngine()
    if kind == "opa":
        if not opa_url:
            raise ValueError("the OPA engine needs an OPA URL")
        return OpaEngine(opa_url)
    raise ValueError(f"unknown policy engine {kind!r}; use embedded or opa")

"""Two backends over the same `.rego` files: regorus embedded in-process (default) and an OPA
server (production sidecar) through opa-python-client.

Deny by default: an undefined result, an engine error or an unreachable OPA is a denial, logged.
Lists are decided in one evaluation (`decide_many`), not one call per row.

The embedded engine answers the two rules every request asks (`allow`, and `allowed` for lists)
from the policy compiled once into a regorus RVM program: the interpreter walks the whole rule
tree again for each decision, which made a node registration cost 55 us against 8 us compiled.
Other rules (a data contract's terms) are rarer and stay with the interpreter, as does any
decision the program cannot take (an input JSON cannot carry, an error in the VM).
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


def _engine_fault(exc: BaseException) -> bool:
    """An error of the engine, to be answered by the interpreter or denied: regorus raises
    ordinary exceptions, and a Rust panic as pyo3's PanicException (a BaseException)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


class EmbeddedEngine:
    """regorus in-process. An engine may not cross threads (not even to be cloned), so each
    thread compiles its own from the same sources on first use, and so its own program."""

    COMPILED_RULES = ("allow", "allowed")
    """Rules answered by the compiled program; every other rule by the interpreter."""

    def __init__(self, directory: Path = POLICY_DIR, *, entrypoint: str = ENTRYPOINT) -> None:
        self.entrypoint = entrypoint
        self._sources = [(path.name, path.read_text()) for path in policy_files(directory)]
        self._entry_points = {rule: f"{entrypoint}.{rule}" for rule in self.COMPILED_RULES}
        self._local = threading.local()
        # Compile now: a policy that does not parse fails at start-up, not at the first request.
        self._engine()
        self._program()

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

    @property
    def compiled_rules(self) -> tuple[str, ...]:
        """The rules this thread answers from the compiled program (none where the policy did
        not compile to one)."""
        return tuple(self._entry_points) if self._program() is not None else ()

    def _program(self) -> Any:
        """This thread's VM with the compiled program, or None where the policy does not
        compile to one (every rule then goes to the interpreter)."""
        local = self._local
        if not hasattr(local, "vm"):
            local.vm = None
            try:
                program = regorus.Program.compile_from_modules(
                    "{}", self._sources, list(self._entry_points.values())
                )
                vm = regorus.Rvm()
                vm.load_program(program)
            except BaseException as exc:
                if not _engine_fault(exc):
                    raise
                log.warning("policy_not_compiled", error=str(exc).split("\n", 1)[0])
            else:
                local.vm = vm
                _KEEP_ALIVE.append((program, vm))  # freed on its own thread only, as above
        return local.vm

    def evaluate(self, document: Mapping[str, Any], rule: str) -> Any:
        entry_point = self._entry_points.get(rule)
        vm = self._program() if entry_point is not None else None
        if vm is not None:
            try:
                # JSON carries what set_input would take, except sets and non-string keys:
                # those (a TypeError here) are decided by the interpreter.
                text = json.dumps(document)
                vm.set_input_json(text)
                return json.loads(vm.execute_entry_point(entry_point))
            except BaseException as exc:
                if not _engine_fault(exc):
                    raise
                if not isinstance(exc, TypeError):
                    log.warning("policy_program_error", rule=rule, error=str(exc).split("\n")[0])
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

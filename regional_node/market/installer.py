"""Polls the hub for this node's market installations and carries them out.

Each round lists the installations the hub wants something done for, and for each:

- approved: refresh the trust roots (kept in the node's database with when they were fetched, and
  used as cached when the hub cannot be asked), download the artifact, check it offline
  (`verify.check`), then activate it in one transaction (`activation`); report `installed`, or
  `failed` with the stable code of the check that failed, the node left as it was;
- its release revoked: disable what it activated here and report `disabled`;
- removal requested: disable what it activated and report `removed`;
- installed: report inspections done with a market model as usage events.

The local record is written before the report is sent: a report that does not get through is
sent again in a later round (the hub still shows the installation as it was), without installing
a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import yunfab
from regional_node.audit.service import append_entry
from regional_node.hub_link.client import HubClient, HubError
from regional_node.hub_link.link import HubLink, LinkState
from regional_node.market import activation, verify
from regional_node.market.activation import INSTALLER, Activated, PreparedModel
from regional_node.market.errors import InstallRefused
from regional_node.market.models import Installation, InstallState, TrustKey, TrustRole
from regional_node.market.repository import MarketRepository
from regional_node.market.verify import Release, TrustedKey, TrustRoots
from regional_node.runtime import NodeRuntime
from yunfab import market
from yunfab.blobs import BlobError
from yunfab.db import session_scope, utcnow
from yunfab.errors import YunfabError

log = structlog.get_logger(__name__)

LINK_POLL_S = 1.0
REMOVAL_STATES = frozenset({"removal_requested", "removing"})
USAGE_UNIT = "inspection"


@dataclass(frozen=True)
class Outcome:
    """What a round did about one installation."""

    installation: str
    release: str
    """listing@version."""
    action: str
    """installed, failed, disabled, removed, usage, or none."""
    code: str | None = None
    detail: str = ""
    reported: bool = True
    """False when the hub did not take the report (sent again next round)."""
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class MarketInstaller:
    def __init__(
        self,
        *,
        client: HubClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtime: NodeRuntime,
        node_name: str,
        directory: Path,
        require_verified: bool = True,
        max_artifact_bytes: int = 200 * 1024 * 1024,
        version: str = yunfab.__version__,
    ) -> None:
        self.client = client
        self.sessionmaker = sessionmaker
        self.runtime = runtime
        self.node_name = node_name
        self.directory = directory
        self.require_verified = require_verified
        self.max_artifact_bytes = max_artifact_bytes
        self.version = version
        self._round = asyncio.Lock()
        """One round at a time: a round asked for (the console, a test) waits for the
        background one, so nothing is installed twice."""

    async def run(self, link: HubLink, interval_s: float) -> None:
        """A round every `interval_s` while the hub link is online (the node's background task)."""
        while True:
            if link.status.state is not LinkState.ONLINE:
                await asyncio.sleep(min(LINK_POLL_S, interval_s))
                continue
            try:
                await self.sync()
            except HubError as exc:
                log.warning("market_sync_failed", error=str(exc), retryable=exc.retryable)
            except Exception:  # a database hiccup: the next round tries again
                log.exception("market_sync_failed")
            await asyncio.sleep(interval_s)

    async def sync(self) -> list[Outcome]:
        """One round over the hub's list; raises `HubError` only when the list cannot be had."""
        async with self._round:
            return await self._sync()

    async def _sync(self) -> list[Outcome]:
        answer = await self.client.market_installations(self.node_name)
        outcomes = []
        trust: list[TrustRoots | None] = []  # fetched once per round, when first needed
        for item in answer.get("installations", []):
            installation = str(item.get("id"))
            try:
                outcome = await self._one(item, trust)
            except HubError as exc:
                log.warning(
                    "market_installation_deferred", installation=installation, error=str(exc)
                )
                outcome = Outcome(
                    installation, _named(item), "none", reported=False, error=str(exc)
                )
            except Exception as exc:
                log.exception("market_installation_failed", installation=installation)
                outcome = Outcome(
                    installation, _named(item), "none", reported=False,
                    error=f"{type(exc).__name__}: {exc}",
                )  # fmt: skip
            if outcome.action != "none":
                log.info("market_installation", **outcome.as_json())
            outcomes.append(outcome)
        return outcomes

    async def _one(self, item: dict[str, Any], trust: list[TrustRoots | None]) -> Outcome:
        installation, state = str(item["id"]), str(item.get("state"))
        config = item.get("config") or {}
        try:
            release = Release.model_validate(item.get("release"))
        except ValidationError as exc:
            return await self._fail(
                installation, None, config,
                InstallRefused("manifest_invalid", f"the hub's release is malformed: {exc}"),
                named=_named(item),
            )  # fmt: skip
        async with self.sessionmaker() as session:
            record = await MarketRepository(session).installation(installation)
        if state in REMOVAL_STATES:
            return await self._switch_off(installation, release, InstallState.REMOVED, record)
        if release.status == "revoked":
            return await self._switch_off(installation, release, InstallState.DISABLED, record)
        if state == "approved":
            if record is not None and record.release_id == release.id and record.state in (
                InstallState.INSTALLED, InstallState.FAILED,
            ):  # fmt: skip
                # Done here already; the report did not get through.
                return await self._report(record, record.detail, code=record.error)
            if not trust:
                trust.append(await self.trust())
            return await self._install(installation, release, config, trust[0])
        if state == "installed" and record is not None and record.state is InstallState.INSTALLED:
            return await self._usage(record)
        return Outcome(installation, _release_name(release), "none")

    # -- trust ------------------------------------------------------------------------------------

    async def trust(self) -> TrustRoots | None:
        """The hub's trust roots, fetched now and cached; the cached ones when the hub cannot
        be asked; None when there are none at all."""
        try:
            answer = await self.client.market_trust()
        except HubError as exc:
            log.warning("market_trust_refresh_failed", error=str(exc))
        else:
            now = utcnow()
            keys = [
                TrustKey(
                    role=role,
                    key_id=str(entry["key_id"]),
                    organization_id=str(entry["organization_id"])
                    if entry.get("organization_id") is not None
                    else None,
                    public_key=str(entry["public_key"]),
                    status=str(entry.get("status", "active")),
                    fetched_at=now,
                )
                for role, entries in (
                    (TrustRole.PUBLISHER, answer.get("publishers", [])),
                    (TrustRole.REVIEWER, answer.get("reviewers", [])),
                )
                for entry in entries
            ]
            async with session_scope(self.sessionmaker) as session:
                await MarketRepository(session).replace_trust(keys)
        async with self.sessionmaker() as session:
            rows = await MarketRepository(session).trust()
        if not rows:
            return None

        def keys_of(role: TrustRole) -> dict[str, TrustedKey]:
            return {
                row.key_id: TrustedKey(row.key_id, row.public_key, row.status, row.organization_id)
                for row in rows
                if row.role is role
            }

        return TrustRoots(keys_of(TrustRole.PUBLISHER), keys_of(TrustRole.REVIEWER))

    # -- install ----------------------------------------------------------------------------------

    async def _install(
        self, installation: str, release: Release, config: dict[str, Any], trust: TrustRoots | None
    ) -> Outcome:
        if trust is None:
            return await self._fail(
                installation, release, config,
                InstallRefused("untrusted_key", "this node holds no trust roots from the hub"),
            )  # fmt: skip
        if release.artifact_size is not None and release.artifact_size > self.max_artifact_bytes:
            return await self._fail(
                installation, release, config,
                InstallRefused(
                    "activation_failed",
                    f"the artifact has {release.artifact_size} bytes, more than this node takes",
                ),
            )  # fmt: skip
        try:
            artifact = await self.client.market_artifact(
                release.artifact_sha256, max_bytes=self.max_artifact_bytes
            )
        except HubError as exc:
            if exc.code != "artifact_too_large":
                raise
            return await self._fail(
                installation, release, config, InstallRefused("activation_failed", str(exc))
            )
        try:
            manifest = await asyncio.to_thread(
                verify.check, release, artifact, trust,
                require_verified=self.require_verified, version=self.version,
            )  # fmt: skip
            stored = await asyncio.to_thread(
                activation.store_artifact, self.directory, release.artifact_sha256, artifact
            )
            record = await self._activate(installation, release, manifest, artifact, config, stored)
        except InstallRefused as refused:
            return await self._fail(installation, release, config, refused)
        return await self._report(record, record.detail)

    async def _activate(
        self, installation: str, release: Release, manifest: market.Manifest, artifact: bytes,
        config: dict[str, Any], stored: str,
    ) -> Installation:  # fmt: skip
        prepared: PreparedModel | None = None
        if manifest.kind == "defect_model":
            async with self.sessionmaker() as session:
                prepared = await activation.prepare_model(
                    session, self.runtime, release=release, manifest=manifest,
                    artifact=artifact, config=config, installation_id=installation,
                )  # fmt: skip
        try:
            async with session_scope(self.sessionmaker) as session:
                if manifest.kind == "scheduling_template":
                    done = await activation.import_template(
                        session, self.runtime, release=release, manifest=manifest,
                        artifact=artifact,
                    )  # fmt: skip
                elif manifest.kind == "machine_profile":
                    done = await activation.install_profile(
                        session, release=release, artifact=artifact, installation_id=installation
                    )
                elif prepared is not None:
                    done = await activation.register_model(
                        session, self.runtime, release=release, prepared=prepared
                    )
                else:
                    done = Activated(
                        f"{manifest.kind} stored and recorded; nothing on the node runs it yet"
                    )
                record = await self._record(
                    session, installation, release, config,
                    state=InstallState.INSTALLED, detail=done.detail, stored=stored,
                )  # fmt: skip
                record.routing_id = done.routing.id if done.routing is not None else None
                record.model_id = done.model.id if done.model is not None else None
                await append_entry(
                    session,
                    actor=INSTALLER,
                    action="node.market.install",
                    resource=f"market-installation:{installation}",
                    outcome="ok",
                    detail={"release": _release_name(release), "done": done.detail},
                )
                return record
        except YunfabError as exc:
            self._discard(prepared)
            raise InstallRefused("activation_failed", exc.detail) from exc
        except BaseException:
            self._discard(prepared)
            raise

    def _discard(self, prepared: PreparedModel | None) -> None:
        if prepared is not None:
            with contextlib.suppress(OSError, YunfabError, BlobError):
                self.runtime.vision.discard(prepared.file)

    async def _record(
        self, session: AsyncSession, installation: str, release: Release | None,
        config: dict[str, Any], *, state: InstallState, detail: str, stored: str | None = None,
        error: str | None = None,
    ) -> Installation:  # fmt: skip
        record = await MarketRepository(session).installation(installation, lock=True)
        if record is None:
            record = Installation(id=installation, usage_reported=0, usage_pending=0)
            session.add(record)
        if release is not None:
            record.release_id = release.id
            record.listing = release.listing
            record.version = release.version
            record.kind = release.kind
            record.digest = release.artifact_sha256
        else:
            record.release_id = record.release_id or "?"
            record.listing = record.listing or "?"
            record.version = record.version or "?"
            record.kind = record.kind or "?"
            record.digest = record.digest or "?"
        record.state = state
        record.error = error
        record.detail = detail
        record.config = config if isinstance(config, dict) else {}
        record.artifact_file = stored or record.artifact_file
        record.reported = None
        record.updated_at = utcnow()
        await session.flush()
        return record

    async def _fail(
        self, installation: str, release: Release | None, config: dict[str, Any],
        refused: InstallRefused, *, named: str | None = None,
    ) -> Outcome:  # fmt: skip
        async with session_scope(self.sessionmaker) as session:
            existing = await MarketRepository(session).installation(installation)
            if existing is not None and existing.state is InstallState.INSTALLED:
                # Another release of this installation is in place: it stays as it is.
                return Outcome(
                    installation, named or _release_name(release), "failed", refused.code,
                    refused.detail, reported=False,
                )  # fmt: skip
            record = await self._record(
                session, installation, release, config, state=InstallState.FAILED,
                detail=refused.detail, error=refused.code,
            )  # fmt: skip
            await append_entry(
                session,
                actor=INSTALLER,
                action="node.market.install",
                resource=f"market-installation:{installation}",
                outcome="refused",
                detail={"code": refused.code, "detail": refused.detail[:500]},
            )
        log.warning("market_install_refused", installation=installation, code=refused.code)
        return await self._report(record, refused.detail, code=refused.code)

    # -- revoke and remove ------------------------------------------------------------------------

    async def _switch_off(
        self, installation: str, release: Release, state: InstallState, record: Installation | None
    ) -> Outcome:
        if record is not None and record.state is state and record.reported == state.value:
            return Outcome(installation, _release_name(release), "none")
        if state is InstallState.DISABLED:
            reason = f"market release {_release_name(release)} revoked"
            if release.status_reason:
                reason += f": {release.status_reason}"
        else:
            reason = f"market installation of {_release_name(release)} removed"
        async with session_scope(self.sessionmaker) as session:
            current = await MarketRepository(session).installation(installation, lock=True)
            done = await activation.disable(session, current, reason=reason) if current else []
            detail = "; ".join(done) or "nothing was active on this node"
            current = await self._record(
                session, installation, release, current.config if current else {},
                state=state, detail=f"{reason}: {detail}",
                error=current.error if current else None,
            )  # fmt: skip
        return await self._report(current, current.detail)

    # -- reports ----------------------------------------------------------------------------------

    async def _report(
        self, record: Installation, detail: str, *, code: str | None = None
    ) -> Outcome:
        state = record.state.value
        text = f"{code}: {detail}" if code else detail
        outcome = Outcome(record.id, f"{record.listing}@{record.version}", state, code, detail)
        try:
            await self.client.report_installation(record.id, state, text[:2000])
        except HubError as exc:
            log.warning("market_report_failed", installation=record.id, state=state, error=str(exc))
            return Outcome(**{**outcome.as_json(), "reported": False, "error": str(exc)})
        async with session_scope(self.sessionmaker) as session:
            current = await MarketRepository(session).installation(record.id, lock=True)
            if current is not None and current.state is record.state:
                current.reported = state
        return outcome

    async def _usage(self, record: Installation) -> Outcome:
        """Inspections with the installation's model since the last usage event, as one more;
        a range being sent keeps its key until the hub took it, so a lost answer is not counted
        twice."""
        name = f"{record.listing}@{record.version}"
        if record.model_id is None:
            return Outcome(record.id, name, "none")
        async with session_scope(self.sessionmaker) as session:
            repository = MarketRepository(session)
            current = await repository.installation(record.id, lock=True)
            assert current is not None
            assert current.model_id is not None
            if current.usage_pending <= current.usage_reported:
                current.usage_pending = await repository.inspections_with(current.model_id)
            first, last = current.usage_reported, current.usage_pending
        if last <= first:
            return Outcome(record.id, name, "none")
        answer = await self.client.report_usage(
            record.id, unit=USAGE_UNIT, count=last - first, key=f"{record.id}:{first}-{last}"
        )
        async with session_scope(self.sessionmaker) as session:
            current = await MarketRepository(session).installation(record.id, lock=True)
            if current is not None and current.usage_reported == first:
                current.usage_reported = last
        return Outcome(
            record.id, name, "usage",
            detail=f"{last - first} inspections reported; used {answer.get('used')} of "
            f"{answer.get('limit') if answer.get('limit') is not None else 'unlimited'}",
        )  # fmt: skip


def _release_name(release: Release | None) -> str:
    return f"{release.listing}@{release.version}" if release is not None else "?"


def _named(item: dict[str, Any]) -> str:
    release = item.get("release")
    if isinstance(release, dict):
        return f"{release.get('listing', '?')}@{release.get('version', '?')}"
    return "?"

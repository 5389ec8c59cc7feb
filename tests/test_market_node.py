"""The node's side of the market: an approved release is downloaded, verified offline against
the trust roots the node cached, and activated; a revoked one is disabled and reported; a
tampered artifact, a bad signature, an untrusted key or a missing review is refused with its
code and the node is left as it was.

The hub is a real in-process hub. Its side is set up through its market service layer as its
publishers, reviewers and the node's own client would act; an attacker who took over the hub's
storage or database is played by writing to them directly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from hub.knowledge_market import service as hub_market
from hub.knowledge_market.api import store_of
from hub.knowledge_market.models import Installation as HubInstallation
from hub.knowledge_market.models import KeyKind, MarketPublisher, Release
from hub.organizations.models import OrganizationKind
from hub.organizations.service import ensure_organization
from hub.state import hub_state
from regional_node.market import verify
from regional_node.market.errors import InstallRefused
from regional_node.market.installer import MarketInstaller, Outcome
from regional_node.market.models import Installation, TrustKey
from regional_node.orders.models import Routing
from regional_node.state import node_state
from tests.conftest import HubFactory, NodeFactory
from tests.support import InProcessService, eventually
from tests.test_orders import DAYS, PLACE, PLAN, ROUTING, START, _setup
from tests.test_vision_api import ACTIVATE, STATION, TRAIN, b64, factory_staff, png
from yunfab import market
from yunfab.db import session_scope
from yunfab.subject import SYSTEM, Subject, SubjectKind
from yunfab_demo.synthetic import Sku, generate

NODE = "zj-textile"
REGION = "CN-ZJ"
NODE_URL = "http://zj-textile.test"
PRODUCT = "dyed-poplin"
TEMPLATE = ROUTING.replace('product = "grey-shirting"', f'product = "{PRODUCT}"').replace(
    'name = "Dyed shirting, 100 m rolls"', 'name = "Dyed poplin (market template)"'
)
BRACKET = Sku("bracket", "metal", seed=3)
SIZE = 128
ORDER = """
query($id: UUID!) { order(id: $id) { stage routing { product version source } } }
"""
MODELS = """
query($f: UUID!) {
  visionModels(factoryId: $f) {
    id sku number kind
    lineage { source market { listing artifactSha256 } baseModel { id } }
  }
}
"""


@dataclass
class Publisher:
    org_id: str
    key: Ed25519PrivateKey
    key_id: str

    @property
    def subject(self) -> Subject:
        return Subject(
            kind=SubjectKind.CLIENT, id=f"pub-{self.key_id}", org_id=self.org_id,
            org_kind="publisher", scopes=frozenset({"market:publish"}),
        )  # fmt: skip


class HubMarket:
    """The hub's side, through its market services and its real policy."""

    def __init__(self, hub: InProcessService) -> None:
        self.hub = hub
        self.authorizer = hub_state(hub.app).authorizer
        self.store = store_of(hub_state(hub.app).settings)
        self.reviewer_key = Ed25519PrivateKey.generate()
        self.reviewer_key_id = ""
        self.reviewer_subject: Subject | None = None

    def sessions(self) -> Any:
        return session_scope(hub_state(self.hub.app).db.sessionmaker)

    async def publisher(self, name: str = "Keqiao Process Lab") -> Publisher:
        key = Ed25519PrivateKey.generate()
        # One session per call, as requests are: the hub's policy decisions are audited in a
        # transaction of their own, which SQLite would make wait for a writing one.
        async with self.sessions() as session:
            org = await ensure_organization(session, name=name, kind=OrganizationKind.PUBLISHER)
        async with self.sessions() as session:
            await hub_market.verify_publisher(
                session, SYSTEM, authorizer=self.authorizer, organization_id=org.id
            )
        publisher = Publisher(str(org.id), key, "")
        async with self.sessions() as session:
            registered = await hub_market.register_key(
                session, publisher.subject, authorizer=self.authorizer,
                public_key=market.public_key_b64(key), kind=KeyKind.PUBLISHER,
            )  # fmt: skip
            publisher.key_id = registered.key_id
        return publisher

    async def _reviewer(self) -> Subject:
        if self.reviewer_subject is None:
            async with self.sessions() as session:
                org = await ensure_organization(
                    session, name="Yunfab hub", kind=OrganizationKind.HUB_OPERATOR
                )
            async with self.sessions() as session:
                self.reviewer_subject = Subject(
                    kind=SubjectKind.USER, id="reviewer-1", org_id=str(org.id),
                    org_kind="hub_operator", scopes=frozenset({"market:review"}),
                    roles=frozenset({"reviewer"}),
                )  # fmt: skip
                key = await hub_market.register_key(
                    session, self.reviewer_subject, authorizer=self.authorizer,
                    public_key=market.public_key_b64(self.reviewer_key), kind=KeyKind.REVIEWER,
                )  # fmt: skip
                self.reviewer_key_id = key.key_id
        return self.reviewer_subject

    async def publish(
        self, publisher: Publisher, manifest: dict[str, Any], artifact: bytes, *,
        reviewed: bool = True,
    ) -> Release:  # fmt: skip
        parsed = market.Manifest.from_data(manifest)
        digest = market.sha256_hex(artifact)
        signature = market.sign(publisher.key, market.signing_payload(parsed, digest))
        async with self.sessions() as session:
            release = await hub_market.publish_release(
                session, publisher.subject, authorizer=self.authorizer, store=self.store,
                upload=hub_market.Upload(
                    manifest_text=json.dumps(manifest), staged=self.store.stage_bytes(artifact),
                    signature=signature, key_id=publisher.key_id,
                ),
            )  # fmt: skip
        if reviewed:
            reviewer = await self._reviewer()
            countersignature = market.sign(self.reviewer_key, market.review_payload(parsed, digest))
            async with self.sessions() as session:
                await hub_market.review_release(
                    session, reviewer, authorizer=self.authorizer, release_id=release.id,
                    key_id=self.reviewer_key_id, signature=countersignature,
                )  # fmt: skip
        return release

    async def install(self, release: Release, config: dict[str, Any] | None = None) -> str:
        """The node's own client asks for the release on its node (approved at once)."""
        async with self.sessions() as session:
            installation = await hub_market.request_installation(
                session, await self._node_subject(session), authorizer=self.authorizer,
                request=hub_market.InstallRequest(
                    node=NODE, release_id=release.id, config=config or {}
                ),
            )  # fmt: skip
            return str(installation.id)

    async def _node_subject(self, session: Any) -> Subject:
        from hub.federation.models import RegionalNode

        node = await session.scalar(select(RegionalNode).where(RegionalNode.name == NODE))
        return Subject(
            kind=SubjectKind.CLIENT, id=f"{NODE}-client", node=NODE, region=REGION,
            org_id=str(node.operator_id) if node.operator_id else None,
            org_kind="node_operator", scopes=frozenset({"nodes:register"}),
        )  # fmt: skip

    async def revoke(self, release: Release, reason: str) -> None:
        async with self.sessions() as session:
            await hub_market.revoke_release(
                session, SYSTEM, authorizer=self.authorizer, release_id=release.id, reason=reason
            )

    async def remove(self, installation_id: str) -> None:
        async with self.sessions() as session:
            await hub_market.remove_installation(
                session, await self._node_subject(session), authorizer=self.authorizer,
                installation_id=uuid.UUID(installation_id),
            )  # fmt: skip

    async def installation(self, installation_id: str) -> HubInstallation:
        async with self.sessions() as session:
            found = await session.get(HubInstallation, uuid.UUID(installation_id))
            assert found is not None
            return found


def manifest(name: str, kind: str, content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    permission = {"scheduling_template": "routing:import", "defect_model": "vision:model"}
    return {
        "name": name, "version": "1.0.0", "kind": kind, "yunfab": ">=0.1,<1",
        "license": "Apache-2.0", "permissions": [permission[kind]] if kind in permission else [],
        "pricing": {"model": "free"}, "summary": f"{name} for the market tests",
        "industry": "textile", "content": content, **extra,
    }  # fmt: skip


def template_manifest(name: str = "poplin-routing", **extra: Any) -> dict[str, Any]:
    return manifest(name, "scheduling_template", {"product": PRODUCT}, **extra)


def installer(node: InProcessService) -> MarketInstaller:
    found: MarketInstaller = node_state(node.app).market_installer
    return found


async def sync(node: InProcessService) -> dict[str, Outcome]:
    """One round, as `yunfab node market sync` runs it; outcomes by installation."""
    return {o.installation: o for o in await installer(node).sync()}


async def node_rows(node: InProcessService, model: Any) -> list[Any]:
    async with node_state(node.app).db.sessionmaker() as session:
        return list((await session.scalars(select(model))).all())


async def online(hub: InProcessService, node: InProcessService) -> dict[str, str]:
    """The node registered (it does so as it starts), its background installer stopped so that
    the test runs the rounds; the operator's headers at the node."""
    from tests.nodes import operator_headers

    await stop_background_installer()
    return await operator_headers(hub, NODE_URL)


async def stop_background_installer() -> None:
    """From then on the test runs the rounds (a background round would race them)."""
    [task] = [t for t in asyncio.all_tasks() if t.get_name() == "market-installer"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


# --- offline checks -----------------------------------------------------------------------


def _release(artifact: bytes, key: Ed25519PrivateKey, **change: Any) -> verify.Release:
    data = template_manifest()
    parsed = market.Manifest.from_data(data)
    digest = market.sha256_hex(artifact)
    public = market.public_key_b64(key)
    fields: dict[str, Any] = {
        "id": "r-1", "listing": data["name"], "kind": data["kind"], "version": data["version"],
        "manifest": data, "artifact_sha256": digest, "artifact_size": len(artifact),
        "signature": market.sign(key, market.signing_payload(parsed, digest)),
        "key_id": market.key_id(market.decode_public_key(public)), "publisher": "org-1",
    }  # fmt: skip
    return verify.Release.model_validate({**fields, **change})


def test_offline_checks_refuse_with_stable_codes() -> None:
    key, reviewer, stranger = (Ed25519PrivateKey.generate() for _ in range(3))
    artifact = TEMPLATE.encode()

    def trusted(k: Ed25519PrivateKey, org: str | None = None) -> verify.TrustedKey:
        public = market.public_key_b64(k)
        return verify.TrustedKey(market.key_id(market.decode_public_key(public)), public,
                                 "active", org)  # fmt: skip

    pub, rev = trusted(key, "org-1"), trusted(reviewer)
    roots = verify.TrustRoots({pub.key_id: pub}, {rev.key_id: rev})
    release = _release(artifact, key)
    parsed = market.Manifest.from_data(release.manifest)
    review = verify.Review(
        key_id=rev.key_id,
        signature=market.sign(reviewer, market.review_payload(parsed, release.artifact_sha256)),
    )
    reviewed = release.model_copy(update={"reviews": [review]})
    assert verify.check(reviewed, artifact, roots, require_verified=True) == parsed

    def refused(code: str, rel: verify.Release, data: bytes = artifact, **kw: Any) -> None:
        with pytest.raises(InstallRefused) as caught:
            verify.check(rel, data, kw.pop("trust", roots), **{"require_verified": True, **kw})
        assert caught.value.code == code, caught.value.detail

    refused("artifact_digest_mismatch", reviewed, artifact + b"\n# tampered")
    # Signed by a key the node does not trust, or trusted for another publisher.
    forged = _release(artifact, stranger, reviews=[review])
    refused("untrusted_key", forged)
    refused("untrusted_key", reviewed.model_copy(update={"publisher": "org-2"}))
    # A trusted key's signature over other bytes (another manifest).
    other = market.Manifest.from_data({**release.manifest, "summary": "changed"})
    wrong = market.sign(key, market.signing_payload(other, release.artifact_sha256))
    refused("signature_invalid", reviewed.model_copy(update={"signature": wrong}))
    # The publisher's own signature passed off as a review.
    fake_review = verify.Review(key_id=pub.key_id, signature=release.signature)
    refused("not_verified", release.model_copy(update={"reviews": [fake_review]}))
    assert verify.check(release, artifact, roots, require_verified=False) == parsed
    refused("incompatible", reviewed, version="2.0.0")
    renamed = reviewed.model_copy(update={"listing": "another-listing"})
    refused("manifest_invalid", renamed)


# --- through the hub ----------------------------------------------------------------------


async def test_an_installed_template_plans_an_order(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, market_poll_interval_s=0.2) as node:
        setup = await _setup(hub, node)
        operator, buyer = setup["operator"], setup["buyer"]
        hub_side = HubMarket(hub)
        publisher = await hub_side.publisher()
        release = await hub_side.publish(publisher, template_manifest(), TEMPLATE.encode())

        # No routing for the product yet: nothing to order.
        order = {
            "input": {"product": PRODUCT, "quantity": 200, "startDate": START.isoformat(),
                      "dueDate": (START + dt.timedelta(DAYS - 1)).isoformat(),
                      "dailyTarget": 30, "rampDays": 3}
        }  # fmt: skip
        early = await node.graphql(PLACE, order, headers=buyer, expect_errors=True)
        assert early["errors"][0]["extensions"]["code"] == "ROUTING_NOT_FOUND"

        installation = await hub_side.install(release)

        # The node's background installer takes it: verified, imported, reported.
        async def installed() -> bool:
            return (await hub_side.installation(installation)).state.value == "installed"

        await eventually(installed, timeout_s=20)
        # A background round could take the revocation below before the test's own round.
        await stop_background_installer()
        at_hub = await hub_side.installation(installation)
        assert at_hub.detail is not None
        assert f"routing {PRODUCT}@1 imported" in at_hub.detail
        [record] = await node_rows(node, Installation)
        assert (record.id, record.state.value, record.reported) == (
            installation, "installed", "installed",
        )  # fmt: skip
        assert record.digest == market.sha256_hex(TEMPLATE.encode())
        trust = await node_rows(node, TrustKey)
        assert {k.key_id for k in trust} >= {publisher.key_id, hub_side.reviewer_key_id}
        assert all(k.fetched_at is not None for k in trust)

        placed = (await node.graphql(PLACE, order, headers=buyer))["placeOrder"]
        plan = (await node.graphql(PLAN, {"id": placed["id"]}, headers=operator))["planOrder"]
        assert plan["status"] in ("optimal", "feasible")
        assert {a["step"] for a in plan["allocations"]} == {"weave", "dye", "pack"}
        shown = (await node.graphql(ORDER, {"id": placed["id"]}, headers=operator))["order"]
        assert shown["stage"] == "PLANNED"
        assert shown["routing"] == {
            "product": PRODUCT, "version": 1, "source": "market:poplin-routing@1.0.0",
        }  # fmt: skip
        assert record.routing_id is not None

        # Another round changes nothing: installed once, reported once.
        again = await sync(node)
        assert again[installation].action == "none"
        assert len(await node_rows(node, Routing)) == 2  # grey-shirting and the template

        # The operator sees it on the node; nobody else does.
        listed = await node.client.get("/api/v1/market/installations", headers=operator)
        assert listed.status_code == 200, listed.text
        body = listed.json()
        assert [(i["listing"], i["state"]) for i in body["installations"]] == [
            ("poplin-routing", "installed")
        ]
        assert body["trust_fetched_at"] is not None
        assert (await node.client.get("/api/v1/market/installations")).status_code == 401
        refused = await node.client.get("/api/v1/market/installations", headers=buyer)
        assert refused.status_code == 403

        # Revoked: the template plans no new order; planned ones keep it.
        await hub_side.revoke(release, "step times copied from another product")
        outcome = (await sync(node))[installation]
        assert (outcome.action, outcome.reported) == ("disabled", True)
        assert (await hub_side.installation(installation)).state.value == "disabled"
        refused_order = await node.graphql(PLACE, order, headers=buyer, expect_errors=True)
        assert refused_order["errors"][0]["extensions"]["code"] == "ROUTING_NOT_FOUND"
        shown = (await node.graphql(ORDER, {"id": placed["id"]}, headers=operator))["order"]
        assert shown["routing"]["source"] == "market:poplin-routing@1.0.0"
        [record] = await node_rows(node, Installation)
        assert record.state.value == "disabled"


def _bracket_model(path: Path) -> bytes:
    """A bracket inspection model, trained and saved as a node does (yunfab-vision-v2)."""
    from vision_ml.training import train

    good = [s.image for s in generate(BRACKET, good=8, size=SIZE, seed=1)]
    train("bracket", good, seed=1).save(path)
    return path.read_bytes()


async def test_a_revoked_defect_model_is_disabled_on_the_node(
    hub_factory: HubFactory, node_factory: NodeFactory, tmp_path: Path
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await online(hub, node)
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        brackets = [s.image for s in generate(BRACKET, good=14, size=SIZE, seed=0)]
        station = (
            await node.graphql(
                STATION,
                {"input": {"factoryId": factory["id"], "slug": "line-1", "name": "Line 1"}},
                headers=staff,
            )
        )["createStation"]
        own = (
            await node.graphql(
                TRAIN,
                {"input": {"factoryId": factory["id"], "sku": "bracket",
                           "good": [b64(image) for image in brackets[:8]]}},
                headers=staff,
            )
        )["trainVisionModel"]  # fmt: skip
        await node.graphql(ACTIVATE, {"s": station["id"], "m": own["id"]}, headers=staff)
        slug = factory["slug"]

        hub_side = HubMarket(hub)
        publisher = await hub_side.publisher("Bracket Vision Co")
        artifact = await asyncio.to_thread(_bracket_model, tmp_path / "bracket.pt")
        release = await hub_side.publish(
            publisher,
            manifest("bracket-inspector", "defect_model",
                     {"sku": "bracket", "format": "yunfab-vision-v2"}),
            artifact,
        )  # fmt: skip
        installation = await hub_side.install(
            release, {"factory": slug, "sku": "bracket", "activate": True, "station": "line-1"}
        )
        outcome = (await sync(node))[installation]
        assert (outcome.action, outcome.reported) == ("installed", True), outcome
        models = (await node.graphql(MODELS, {"f": factory["id"]}, headers=staff))["visionModels"]
        market_model = next(m for m in models if m["number"] == 2)
        assert market_model["lineage"]["source"] == "market"
        assert market_model["lineage"]["market"] == {
            "listing": "bracket-inspector",
            "artifactSha256": market.sha256_hex(artifact),
        }
        stations = await _stations(node)
        assert stations["line-1"] == (market_model["id"], own["id"])

        # Inspections with the market model are reported as usage, once each.
        for image in brackets[10:12]:
            answer = await node.client.post(
                f"/api/v1/stations/{station['id']}/inspections",
                files={"image": ("part.png", png(image), "image/png")}, headers=staff,
            )  # fmt: skip
            assert answer.status_code == 200, answer.text
        usage = (await sync(node))[installation]
        assert usage.action == "usage", usage
        assert usage.detail.startswith("2 inspections reported; used 2")
        assert (await sync(node))[installation].action == "none"

        await hub_side.revoke(release, "misses cracks under oil film")
        outcome = (await sync(node))[installation]
        assert outcome.action == "disabled", outcome
        assert "station line-1 back to bracket@1" in outcome.detail
        assert (await hub_side.installation(installation)).state.value == "disabled"
        stations = await _stations(node)
        assert stations["line-1"] == (own["id"], None)
        # It may not be switched on again, nor rolled back to.
        again = await node.graphql(
            ACTIVATE, {"s": station["id"], "m": market_model["id"]}, headers=staff,
            expect_errors=True,
        )  # fmt: skip
        assert again["errors"][0]["extensions"]["code"] == "VISION_MODEL_DISABLED"
        # The station runs the factory's own model again.
        answer = await node.client.post(
            f"/api/v1/stations/{station['id']}/inspections",
            files={"image": ("part.png", png(brackets[12]), "image/png")}, headers=staff,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert answer.json()["record"]["verdict"] == "good"


async def _stations(node: InProcessService) -> dict[str, tuple[str | None, str | None]]:
    from regional_node.vision.models import Station

    return {
        s.slug: (
            str(s.model_id) if s.model_id else None,
            str(s.previous_model_id) if s.previous_model_id else None,
        )
        for s in await node_rows(node, Station)
    }


async def test_a_federated_head_becomes_a_version_of_the_factorys_own_model(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    import io

    from federated_learning import model as federated

    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await online(hub, node)
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        brackets = [s.image for s in generate(BRACKET, good=10, size=SIZE, seed=0)]
        own = (
            await node.graphql(
                TRAIN,
                {"input": {"factoryId": factory["id"], "sku": "bracket",
                           "good": [b64(image) for image in brackets[:8]]}},
                headers=staff,
            )
        )["trainVisionModel"]  # fmt: skip
        slug = factory["slug"]
        rng = np.random.default_rng(7)
        mean = rng.normal(size=federated.DIM)
        second = mean * mean + rng.uniform(0.5, 2.0, federated.DIM)
        coef = rng.normal(scale=0.3, size=federated.DIM)
        weights = [mean, second, coef, np.array([-1.0]), np.ones(1)]
        buffer = io.BytesIO()
        np.savez(buffer, *weights)
        hub_side = HubMarket(hub)
        publisher = await hub_side.publisher("Federation Desk")
        release = await hub_side.publish(
            publisher,
            manifest("federated-brackets", "defect_model",
                     {"sku": "any", "format": "federated-head-v1", "metrics": {"auroc": 0.93}}),
            buffer.getvalue(),
        )  # fmt: skip
        installation = await hub_side.install(release, {"factory": slug, "sku": "bracket"})
        outcome = (await sync(node))[installation]
        assert outcome.action == "installed", outcome
        assert "inactive until" in outcome.detail
        models = (await node.graphql(MODELS, {"f": factory["id"]}, headers=staff))["visionModels"]
        head = next(m for m in models if m["number"] == 2)
        assert head["kind"] == "anomaly+federated"
        assert head["lineage"]["baseModel"]["id"] == own["id"]
        # It runs: the factory's anomaly model with the federation's head.
        station = (
            await node.graphql(
                STATION,
                {"input": {"factoryId": factory["id"], "slug": "line-2", "name": "Line 2"}},
                headers=staff,
            )
        )["createStation"]
        await node.graphql(ACTIVATE, {"s": station["id"], "m": head["id"]}, headers=staff)
        answer = await node.client.post(
            f"/api/v1/stations/{station['id']}/inspections",
            files={"image": ("part.png", png(brackets[9]), "image/png")}, headers=staff,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert answer.json()["record"]["verdict"] in ("good", "defective")


@pytest.mark.parametrize("attack", ["tampered", "signature", "untrusted", "unreviewed"])
async def test_refused_releases_leave_the_node_as_it_was(
    hub_factory: HubFactory, node_factory: NodeFactory, attack: str
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await online(hub, node)
        hub_side = HubMarket(hub)
        publisher = await hub_side.publisher()
        release = await hub_side.publish(
            publisher, template_manifest(), TEMPLATE.encode(), reviewed=attack != "unreviewed"
        )
        # What someone who took over the hub's storage or database could do.
        if attack == "tampered":
            path = hub_side.store.path_of(release.artifact_sha256)
            assert path is not None  # the hub's files in its data folder (the default)
            path.write_text(TEMPLATE.replace("hours_per_unit = 0.5", "hours_per_unit = 0.05"))
        elif attack == "signature":
            other = market.Manifest.from_data(template_manifest(summary="something else"))
            forged = market.sign(
                publisher.key, market.signing_payload(other, release.artifact_sha256)
            )
            async with hub_side.sessions() as session:
                row = await session.get(Release, release.id)
                assert row is not None
                row.signature = forged
        elif attack == "untrusted":
            # The publisher is no longer vouched for: its key leaves the trust roots.
            async with hub_side.sessions() as session:
                row = await session.get(MarketPublisher, uuid.UUID(publisher.org_id))
                await session.delete(row)
        installation = await hub_side.install(release)
        before = await node.graphql("{ routings { product version } }", headers=operator)

        outcome = (await sync(node))[installation]
        code = {
            "tampered": "artifact_digest_mismatch", "signature": "signature_invalid",
            "untrusted": "untrusted_key", "unreviewed": "not_verified",
        }[attack]  # fmt: skip
        assert (outcome.action, outcome.code, outcome.reported) == ("failed", code, True)
        at_hub = await hub_side.installation(installation)
        assert at_hub.state.value == "failed"
        assert (at_hub.detail or "").startswith(f"{code}: ")
        assert await node.graphql("{ routings { product version } }", headers=operator) == before
        assert not [r for r in await node_rows(node, Routing) if r.product == PRODUCT]
        [record] = await node_rows(node, Installation)
        assert (record.state.value, record.error, record.routing_id) == ("failed", code, None)
        # Failed installations leave the hub's list: the next round does nothing.
        assert installation not in await sync(node)


async def test_removal_disables_and_reports(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await online(hub, node)
        hub_side = HubMarket(hub)
        publisher = await hub_side.publisher()
        release = await hub_side.publish(publisher, template_manifest(), TEMPLATE.encode())
        installation = await hub_side.install(release)
        assert (await sync(node))[installation].action == "installed"
        shown = await node.graphql(
            "query($p: String!) { routing(product: $p) { version source } }", {"p": PRODUCT},
            headers=operator,
        )  # fmt: skip
        assert shown["routing"]["source"] == "market:poplin-routing@1.0.0"
        await hub_side.remove(installation)
        outcome = (await sync(node))[installation]
        assert outcome.action == "removed", outcome
        assert (await hub_side.installation(installation)).state.value == "removed"
        gone = await node.graphql(
            "query($p: String!) { routing(product: $p) { version } }", {"p": PRODUCT},
            headers=operator, expect_errors=True,
        )  # fmt: skip
        assert gone["errors"][0]["extensions"]["code"] == "ROUTING_NOT_FOUND"

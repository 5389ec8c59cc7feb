"""Factories on a node: onboarding with review and audit, profiles, capacity, evaluation,
and who may do what."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import (
    COMPLETE_PROFILE,
    INVITE,
    MOVE,
    PROFILE,
    PROVISION,
    active_factory,
    operator_headers,
)
from tests.support import bearer, client_token, create_client

NODE_URL = "http://zj-textile.test"

AUDIT = "{ auditLog(first: 50) { edges { node { action resource actor outcome detail } } } }"
FACTORY = """
query($id: UUID!) {
  factory(id: $id) {
    slug name status statusReason products skills
    location { address city region lat lon timeZone } contact { name phone email }
    certifications { name issuer validUntil }
    equipment { type model count parameters }
    capacity(start: "2026-12-01", end: "2026-12-07") {
      process day availableHours availableUnits downtimeHours
    }
    evaluation { windowDays scores { name value explanation inputs { name value unit } } }
  }
}
"""
CAPACITY = """
mutation($id: UUID!, $days: [CapacityDayInput!]!) {
  setFactoryCapacity(factoryId: $id, days: $days)
}
"""


async def test_onboarding_runs_invited_to_active_with_review_and_audit(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        invited = (
            await node.graphql(
                INVITE,
                {"input": {"slug": "keqiao-weaving", "name": "Shaoxing Keqiao Weaving Co."}},
                headers=operator,
            )
        )["inviteFactory"]
        assert invited["status"] == "INVITED"
        factory_id = invited["id"]

        # Submitting an empty profile is refused, and says what is missing.
        refused = await node.graphql(
            MOVE, {"id": factory_id, "t": "SUBMIT"}, headers=operator, expect_errors=True
        )
        error = refused["errors"][0]
        assert error["extensions"]["code"] == "PROFILE_INCOMPLETE"
        assert "equipment" in error["message"]
        assert "location" in error["message"]

        await node.graphql(PROFILE, {"id": factory_id, "input": COMPLETE_PROFILE}, headers=operator)
        submitted = await node.graphql(MOVE, {"id": factory_id, "t": "SUBMIT"}, headers=operator)
        assert submitted["changeFactoryStatus"]["status"] == "SUBMITTED"

        # Rejection needs a reason; a rejected factory fixes its profile and submits again.
        no_reason = await node.graphql(
            MOVE, {"id": factory_id, "t": "REJECT"}, headers=operator, expect_errors=True
        )
        assert no_reason["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        rejected = await node.graphql(
            MOVE,
            {"id": factory_id, "t": "REJECT", "reason": "business licence unreadable"},
            headers=operator,
        )
        assert rejected["changeFactoryStatus"] == {
            "status": "REJECTED",
            "statusReason": "business licence unreadable",
        }
        for transition in ("SUBMIT", "VERIFY", "ACTIVATE"):
            await node.graphql(MOVE, {"id": factory_id, "t": transition}, headers=operator)

        # Moves out of order are refused and change nothing.
        wrong = await node.graphql(
            MOVE, {"id": factory_id, "t": "VERIFY"}, headers=operator, expect_errors=True
        )
        assert wrong["errors"][0]["extensions"]["code"] == "TRANSITION_NOT_ALLOWED"
        suspended = await node.graphql(
            MOVE,
            {"id": factory_id, "t": "SUSPEND", "reason": "fire inspection overdue"},
            headers=operator,
        )
        assert suspended["changeFactoryStatus"]["status"] == "SUSPENDED"
        reactivated = await node.graphql(
            MOVE, {"id": factory_id, "t": "REACTIVATE"}, headers=operator
        )
        assert reactivated["changeFactoryStatus"]["status"] == "ACTIVE"

        entries = [
            edge["node"]
            for edge in (await node.graphql(AUDIT, headers=operator))["auditLog"]["edges"]
        ]
        actions = [entry["action"] for entry in reversed(entries)]
        assert actions == [
            "node.factory.invite",
            "node.factory.edit",
            "node.factory.submit",
            "node.factory.reject",
            "node.factory.submit",
            "node.factory.verify",
            "node.factory.activate",
            "node.factory.suspend",
            "node.factory.reactivate",
        ]
        suspend_entry = next(e for e in entries if e["action"] == "node.factory.suspend")
        assert suspend_entry["resource"] == "factory:keqiao-weaving"
        assert suspend_entry["detail"]["reason"] == "fire inspection overdue"
        assert suspend_entry["detail"]["from"] == "active"


async def test_profile_capacity_and_evaluation_read_back(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        factory = await active_factory(node.client, operator, slug="haining-knit")
        days = [
            {"process": "weaving", "day": "2026-12-01", "availableHours": 20, "downtimeHours": 4},
            {"process": "weaving", "day": "2026-12-02", "availableHours": 22},
            {"process": "dyeing", "day": "2026-12-01", "availableUnits": 5000},
        ]
        written = await node.graphql(
            CAPACITY, {"id": factory["id"], "days": days}, headers=operator
        )
        assert written["setFactoryCapacity"] == 3
        # Setting a day again replaces it.
        await node.graphql(
            CAPACITY,
            {
                "id": factory["id"],
                "days": [{"process": "weaving", "day": "2026-12-02", "availableHours": 8}],
            },
            headers=operator,
        )
        bad = await node.graphql(
            CAPACITY,
            {
                "id": factory["id"],
                "days": [{"process": "weaving", "day": "2026-12-03", "availableHours": 30}],
            },
            headers=operator,
            expect_errors=True,
        )
        assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        assert "availableHours" in bad["errors"][0]["message"]

        shown = (await node.graphql(FACTORY, {"id": factory["id"]}, headers=operator))["factory"]
        assert shown["status"] == "ACTIVE"
        # The profile comes back typed, as it was given.
        assert shown["location"] == {
            "address": "88 Keqiao Rd", "city": "Shaoxing", "region": "CN-ZJ",
            "lat": None, "lon": None, "timeZone": None,
        }  # fmt: skip
        assert shown["contact"] == {"name": "Chen Li", "phone": "+86 575 0000 0000", "email": None}
        assert shown["equipment"] == [
            {
                "type": "air-jet-loom",
                "model": "Toyota JAT810",
                "count": 48,
                "parameters": {"width_cm": 190},
            }
        ]
        capacity = {(c["process"], c["day"]): c for c in shown["capacity"]}
        assert len(capacity) == 3
        assert capacity[("weaving", "2026-12-02")]["availableHours"] == 8
        assert capacity[("weaving", "2026-12-01")]["downtimeHours"] == 4
        assert capacity[("dyeing", "2026-12-01")]["availableUnits"] == 5000

        scores = {s["name"]: s for s in shown["evaluation"]["scores"]}
        assert set(scores) == {
            "development_capability",
            "quality_control",
            "quick_response",
            "delivery",
            "reliability",
        }
        development = scores["development_capability"]
        inputs = {i["name"]: i["value"] for i in development["inputs"]}
        assert inputs == {
            "equipment_types": 1,
            "machines": 48,
            "special_skills": 1,
            "valid_certifications": 0,
        }
        assert 0 < development["value"] < 100
        # No data yet: null, with an explanation rather than a made-up number.
        for name in ("quality_control", "quick_response", "delivery", "reliability"):
            assert scores[name]["value"] is None
            assert scores[name]["explanation"]


async def test_factory_people_see_and_edit_only_their_own_factory(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        mill_id, mill_secret = await create_client(
            hub, org="Tongxiang Mill", org_kind="factory", scopes=["factories:write"]
        )
        other_id, other_secret = await create_client(
            hub, org="Yiwu Socks", org_kind="factory", scopes=["factories:write"]
        )
        mill = bearer(await client_token(hub, mill_id, mill_secret, "factories:write", NODE_URL))
        other = bearer(await client_token(hub, other_id, other_secret, "factories:write", NODE_URL))
        viewer = (await node.graphql("{ node { name } }", headers=mill))["node"]
        assert viewer == {"name": "zj-textile"}
        org_of_mill = (
            await hub.graphql(
                "{ viewer { organizationId } }",
                headers=bearer(await client_token(hub, mill_id, mill_secret, "factories:write")),
            )
        )["viewer"]["organizationId"]

        own = (
            await node.graphql(
                INVITE,
                {
                    "input": {
                        "slug": "tongxiang",
                        "name": "Tongxiang Mill",
                        "organizationId": org_of_mill,
                    }
                },
                headers=operator,
            )
        )["inviteFactory"]
        await active_factory(node.client, operator, slug="someone-else")

        # The factory fills in its own profile and submits it...
        await node.graphql(PROFILE, {"id": own["id"], "input": COMPLETE_PROFILE}, headers=mill)
        moved = await node.graphql(MOVE, {"id": own["id"], "t": "SUBMIT"}, headers=mill)
        assert moved["changeFactoryStatus"]["status"] == "SUBMITTED"
        # ...but cannot verify itself.
        denied = await node.graphql(
            MOVE, {"id": own["id"], "t": "VERIFY"}, headers=mill, expect_errors=True
        )
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"

        # It sees only its own factory in the list; another factory's people cannot touch it.
        listed = await node.graphql("{ factories { edges { node { slug } } } }", headers=mill)
        assert [e["node"]["slug"] for e in listed["factories"]["edges"]] == ["tongxiang"]
        # To them it is not there: the same answer as for an id that is not on the node.
        for query, variables in (
            (FACTORY, {"id": own["id"]}),
            (PROFILE, {"id": own["id"], "input": {"products": ["socks"]}}),
            (MOVE, {"id": own["id"], "t": "SUBMIT"}),
        ):
            answers = []
            for factory_id in (own["id"], str(uuid.uuid4())):
                body = await node.graphql(
                    query, {**variables, "id": factory_id}, headers=other, expect_errors=True
                )
                error = body["errors"][0]
                answers.append(
                    (error["extensions"]["code"], error["message"].replace(factory_id, "ID"))
                )
            assert answers[0] == answers[1] == ("FACTORY_NOT_FOUND", "no factory ID on this node")
        # Nobody can invite factories but the operator.
        body = await node.graphql(
            INVITE, {"input": {"slug": "x", "name": "X"}}, headers=mill, expect_errors=True
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_factory_invited_with_its_organization_spelled_otherwise_reaches_its_profile(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    """A hex UUID (no dashes, upper case) is the same organization as the token's `org`."""
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        mill_id, mill_secret = await create_client(
            hub, org="Tongxiang Mill", org_kind="factory", scopes=["factories:write"]
        )
        mill = bearer(await client_token(hub, mill_id, mill_secret, "factories:write", NODE_URL))
        org = (
            await hub.graphql(
                "{ viewer { organizationId } }",
                headers=bearer(await client_token(hub, mill_id, mill_secret, "factories:write")),
            )
        )["viewer"]["organizationId"]
        spelled = org.replace("-", "").upper()
        invited = (
            await node.graphql(
                INVITE,
                {"input": {"slug": "tongxiang", "name": "Tongxiang", "organizationId": spelled}},
                headers=operator,
            )
        )["inviteFactory"]
        saved = await node.graphql(
            PROFILE, {"id": invited["id"], "input": COMPLETE_PROFILE}, headers=mill
        )
        assert saved["saveFactoryProfile"]["id"] == invited["id"]
        shown = await node.graphql(
            "query($id: UUID!) { factory(id: $id) { organizationId } }",
            {"id": invited["id"]},
            headers=mill,
        )
        assert shown["factory"]["organizationId"] == org
        # No token can ever carry an id that is not a UUID: such a factory would be locked out.
        refused = await node.graphql(
            INVITE,
            {"input": {"slug": "odd", "name": "Odd", "organizationId": "tongxiang-mill"}},
            headers=operator,
            expect_errors=True,
        )
        assert refused["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_device_keys_and_ids_of_other_factories_cannot_be_probed(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        staff = {}
        factories = {}
        for slug in ("mill-a", "mill-b"):
            client_id, secret = await create_client(
                hub, org=f"Org {slug}", org_kind="factory", scopes=["devices:write"]
            )
            staff[slug] = bearer(
                await client_token(hub, client_id, secret, "devices:write", NODE_URL)
            )
            org = (
                await hub.graphql(
                    "{ viewer { organizationId } }",
                    headers=bearer(await client_token(hub, client_id, secret, "devices:write")),
                )
            )["viewer"]["organizationId"]
            factories[slug] = await active_factory(
                node.client, operator, slug=slug, organization_id=org
            )

        async def provision(slug: str, key: str) -> dict[str, Any]:
            fields = {"factoryId": factories[slug]["id"], "key": key, "name": key, "type": "loom"}
            return await node.graphql(
                PROVISION, {"input": fields}, headers=staff[slug], expect_errors=True
            )

        made = await node.graphql(
            PROVISION,
            {"input": {"factoryId": factories["mill-b"]["id"], "key": "mill-b-loom-01",
                       "name": "Loom", "type": "loom"}},
            headers=staff["mill-b"],
        )  # fmt: skip
        device_id = made["provisionDevice"]["device"]["id"]
        # mill-a cannot learn which keys mill-b uses: it names its devices mill-a-..., and is
        # told so for any other key, taken or not.
        taken, free = (
            await provision("mill-a", "mill-b-loom-01"),
            await provision("mill-a", "mill-b-loom-99"),
        )
        assert taken["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        assert taken["errors"][0]["message"] == free["errors"][0]["message"]
        # Within its own namespace a taken key is its own device, and it may say so.
        own = {"factoryId": factories["mill-a"]["id"], "key": "mill-a-loom-01", "name": "L"}
        await node.graphql(PROVISION, {"input": {**own, "type": "loom"}}, headers=staff["mill-a"])
        again = await provision("mill-a", "mill-a-loom-01")
        assert again["errors"][0]["extensions"]["code"] == "DEVICE_EXISTS"
        # A slug nesting in another's would share its namespace.
        nested = await node.graphql(
            INVITE, {"input": {"slug": "mill-a-2", "name": "Nested"}}, headers=operator,
            expect_errors=True,
        )  # fmt: skip
        assert nested["errors"][0]["extensions"]["code"] == "FACTORY_EXISTS"

        # mill-b's device by id, to mill-a: the same answer as an id that is not there.
        query = "mutation($id: UUID!) { rotateDeviceCredentials(deviceId: $id) { username } }"
        answers = []
        for some_id in (device_id, str(uuid.uuid4())):
            body = await node.graphql(
                query, {"id": some_id}, headers=staff["mill-a"], expect_errors=True
            )
            error = body["errors"][0]
            answers.append((error["extensions"]["code"], error["message"].replace(some_id, "ID")))
        assert answers[0] == answers[1] == ("DEVICE_NOT_FOUND", "no device ID on this node")

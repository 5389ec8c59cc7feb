"""Offers and contract negotiation: each mutation in its own transaction."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry
from pydantic import ValidationError
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.data_exchange import service
from hub.data_exchange.graphql.types import ContractType, OfferType, UsagePolicyInput
from hub.graphql.context import HubContext
from yunfab.errors import InvalidInput
from yunfab.graphql.resolvers import mutate, service_input
from yunfab.usage_policy import Purpose, UsagePolicy


def _policy(document: object) -> UsagePolicy:
    try:
        return UsagePolicy.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'policy'}: {error['msg']}"
            for error in exc.errors()[:5]
        )
        raise InvalidInput(f"usage policy: {problems}") from exc


@strawberry.input(name="ContractRequestInput")
class ContractRequestInput:
    offer_id: uuid.UUID
    purpose: Purpose
    fields: list[str] | None = strawberry.field(
        default=None, description="Fewer fields than offered (default: all offered)."
    )
    regions: list[str] | None = strawberry.field(
        default=None, description="Fewer regions than offered (default: all offered)."
    )
    accept_terms: bool = strawberry.field(
        default=True,
        description="Agree in advance to the offer's terms narrowed to this request: an offer "
        "approved automatically is then finalized at once.",
    )


@strawberry.type
class DataExchangeMutation:
    @strawberry.mutation(
        description="Offer your product under a usage policy (the closed vocabulary in "
        "docs/data_exchange.md; unknown terms are refused)."
    )
    async def publish_data_offer(
        self,
        info: Info[HubContext, None],
        product_id: uuid.UUID,
        policy: UsagePolicyInput | None = None,
        policy_json: Annotated[
            JSON | None,
            strawberry.argument(
                deprecation_reason="Send the typed `policy`; this JSON form goes in the next "
                "release."
            ),
        ] = None,
    ) -> OfferType:
        context = info.context
        if (policy is None) == (policy_json is None):
            raise InvalidInput("give policy (or the deprecated policyJson), not both")
        terms = _policy(policy.document() if policy is not None else policy_json)
        row = await mutate(
            context,
            service.publish_offer,
            authorizer=context.authorizer,
            product_id=product_id,
            policy=terms,
        )
        return OfferType.from_model(row)

    @strawberry.mutation(description="No new contracts on this offer; agreements run on.")
    async def withdraw_data_offer(self, info: Info[HubContext, None], id: uuid.UUID) -> OfferType:
        context = info.context
        row = await mutate(
            context, service.withdraw_offer, authorizer=context.authorizer, offer_id=id
        )
        return OfferType.from_model(row)

    @strawberry.mutation(description="Ask for an agreement on an offer.")
    async def request_data_contract(
        self, info: Info[HubContext, None], input: ContractRequestInput
    ) -> ContractType:
        context = info.context
        if len(input.fields or []) > 64 or len(input.regions or []) > 64:
            raise InvalidInput("at most 64 fields and 64 regions")
        row = await mutate(
            context,
            service.request_contract,
            authorizer=context.authorizer,
            policy_engine=context.authorizer.engine,
            offer_id=input.offer_id,
            request=service_input(service.ContractRequest, input),
        )
        return ContractType.from_model(row)

    @strawberry.mutation(description="Provider: answer a request with the offer's terms.")
    async def offer_data_contract(
        self, info: Info[HubContext, None], id: uuid.UUID
    ) -> ContractType:
        context = info.context
        row = await mutate(
            context, service.offer_contract, authorizer=context.authorizer, contract_id=id
        )
        return ContractType.from_model(row)

    @strawberry.mutation(description="Consumer: accept the offered terms.")
    async def agree_data_contract(
        self, info: Info[HubContext, None], id: uuid.UUID
    ) -> ContractType:
        context = info.context
        row = await mutate(
            context, service.agree_contract, authorizer=context.authorizer, contract_id=id
        )
        return ContractType.from_model(row)

    @strawberry.mutation(description="Provider: finalize an agreed contract; access begins.")
    async def finalize_data_contract(
        self, info: Info[HubContext, None], id: uuid.UUID
    ) -> ContractType:
        context = info.context
        row = await mutate(
            context, service.finalize_contract, authorizer=context.authorizer, contract_id=id
        )
        return ContractType.from_model(row)

    @strawberry.mutation(description="Either party: end the contract; access stops at once.")
    async def terminate_data_contract(
        self, info: Info[HubContext, None], id: uuid.UUID, reason: str
    ) -> ContractType:
        context = info.context
        row = await mutate(
            context,
            service.terminate_contract,
            authorizer=context.authorizer,
            contract_id=id,
            reason=reason,
        )
        return ContractType.from_model(row)

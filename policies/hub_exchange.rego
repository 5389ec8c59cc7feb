# The data exchange: catalog, offers, contract negotiation and governed queries.
#
# Besides allow/deny for the actions below, two rules name the terms a request breaks, so the
# hub can refuse with the term and the consumer knows what to change:
#   contract_decision   input: subject, offer {status, policy, expires_at}, request {purpose,
#                       fields, regions}, now; -> {outcome: automatic|provider|refused, violations}
#   query_violations    input: subject, contract {state, consumer_org, expires_at, terms},
#                       query {fields, regions, aggregate, fresh}, now; -> set of {term, message}
# Times are epoch seconds. Policies and agreements are already validated against the closed
# vocabulary (yunfab/usage_policy.py) when they get here.
package yunfab.authz

import rego.v1

exchange_actions := {
	"hub.exchange.catalog.read",
	"hub.exchange.product.publish",
	"hub.exchange.offer.publish",
	"hub.exchange.contract.request",
	"hub.exchange.contract.read",
	"hub.exchange.contract.decide",
	"hub.exchange.contract.agree",
	"hub.exchange.contract.terminate",
	"hub.exchange.data.own",
	"hub.exchange.data.query",
}

_exchange_scopes := {"exchange:read", "exchange:write", "exchange:publish"}

# A regional node's own client speaks for its operator organization's products.
_exchange_node(subject) if {
	subject.kind == "client"
	subject.node != null
	has_scope(subject, "nodes:register")
}

_exchange_publisher(subject) if _exchange_node(subject)

_exchange_publisher(subject) if {
	authenticated(subject)
	subject.org != null
	has_scope(subject, "exchange:publish")
}

exchange(subject, "hub.exchange.catalog.read", _, _) if {
	authenticated(subject)
	some scope in _exchange_scopes
	has_scope(subject, scope)
}

exchange(subject, "hub.exchange.catalog.read", _, _) if _exchange_node(subject)

# Products and offers are published by their own organization only.
exchange(subject, action, resource, _) if {
	action in {"hub.exchange.product.publish", "hub.exchange.offer.publish"}
	_exchange_publisher(subject)
	resource.org == subject.org
}

exchange(subject, "hub.exchange.contract.request", _, _) if {
	authenticated(subject)
	subject.org != null
	has_scope(subject, "exchange:write")
}

# A contract is read by its two parties, and by the hub's operators who run the exchange.
exchange(subject, "hub.exchange.contract.read", resource, _) if {
	subject.org in {resource.consumer_org, resource.provider_org}
	some scope in _exchange_scopes
	has_scope(subject, scope)
}

exchange(subject, "hub.exchange.contract.read", resource, _) if {
	subject.org == resource.provider_org
	_exchange_node(subject)
}

# A node's own client reads the agreements its operator organization holds as consumer: the
# node's demand domain takes a brand's sales product in under one (issue #21).
exchange(subject, "hub.exchange.contract.read", resource, _) if {
	subject.org == resource.consumer_org
	_exchange_node(subject)
}

exchange(subject, "hub.exchange.contract.read", _, _) if {
	hub_operator(subject)
	has_scope(subject, "exchange:read")
}

# The provider offers terms and finalizes agreements.
exchange(subject, "hub.exchange.contract.decide", resource, _) if {
	_exchange_publisher(subject)
	subject.org == resource.provider_org
}

exchange(subject, "hub.exchange.contract.agree", resource, _) if {
	authenticated(subject)
	has_scope(subject, "exchange:write")
	subject.org == resource.consumer_org
}

# Either party may end a contract at any time.
exchange(subject, "hub.exchange.contract.terminate", resource, _) if {
	authenticated(subject)
	has_scope(subject, "exchange:write")
	subject.org == resource.consumer_org
}

exchange(subject, "hub.exchange.contract.terminate", resource, _) if {
	_exchange_publisher(subject)
	subject.org == resource.provider_org
}

# A publisher reads its own product without an agreement.
exchange(subject, "hub.exchange.data.own", resource, _) if {
	_exchange_publisher(subject)
	resource.org == subject.org
}

exchange(subject, "hub.exchange.data.own", resource, _) if {
	authenticated(subject)
	has_scope(subject, "exchange:read")
	resource.org == subject.org
}

# Governed queries: allowed to anyone with exchange:read; what they may see is decided by
# query_violations against their agreement.
exchange(subject, "hub.exchange.data.query", _, _) if {
	authenticated(subject)
	has_scope(subject, "exchange:read")
}

# A node's own client pulls rows under its operator organization's agreements (query_violations
# still holds it to the consumer, the state, the expiry and the agreed fields).
exchange(subject, "hub.exchange.data.query", _, _) if _exchange_node(subject)

# --- contract requests --------------------------------------------------------------------

_offer_policy := object.get(object.get(input, "offer", {}), "policy", {})

_request := object.get(input, "request", {})

contract_violations contains {"term": "offer", "message": "the offer has been withdrawn"} if {
	input.offer.status != "active"
}

contract_violations contains {"term": "expires_at", "message": "the offer has expired"} if {
	input.offer.expires_at != null
	input.now >= input.offer.expires_at
}

contract_violations contains {
	"term": "consumers",
	"message": "a provider does not contract for its own product",
} if {
	input.subject.org == input.offer.provider_org
}

contract_violations contains {
	"term": "consumers",
	"message": sprintf("the offer is not open to %s organizations like yours", [input.subject.org_kind]),
} if {
	not input.subject.org in object.get(_offer_policy.consumers, "organizations", [])
	not input.subject.org_kind in object.get(_offer_policy.consumers, "kinds", [])
}

contract_violations contains {
	"term": "purposes",
	"message": sprintf("purpose %q is not among the offer's purposes %v", [_request.purpose, _offer_policy.purposes]),
} if {
	not _request.purpose in _offer_policy.purposes
}

contract_violations contains {
	"term": "fields",
	"message": sprintf("field %q is not offered", [field]),
} if {
	_offer_policy.fields != null
	some field in object.get(_request, "fields", [])
	not field in _offer_policy.fields
}

contract_violations contains {
	"term": "regions",
	"message": sprintf("region %q is not offered", [region]),
} if {
	_offer_policy.regions != null
	some region in object.get(_request, "regions", [])
	not region in _offer_policy.regions
}

contract_decision := {"outcome": outcome, "violations": violations} if {
	violations := contract_violations
	outcome := contract_outcome
}

default contract_outcome := "provider"

contract_outcome := "refused" if {
	count(contract_violations) > 0
} else := "automatic" if {
	_offer_policy.approval == "automatic"
}

# --- governed queries ---------------------------------------------------------------------

_terms := object.get(object.get(input, "contract", {}), "terms", {})

query_violations contains {"term": "scope", "message": "governed queries need the exchange:read scope"} if {
	not has_scope(input.subject, "exchange:read")
	not _exchange_node(input.subject)
}

query_violations contains {"term": "consumers", "message": "the agreement is another organization's"} if {
	input.subject.org != input.contract.consumer_org
}

query_violations contains {
	"term": "state",
	"message": sprintf("the agreement is %s, not finalized", [input.contract.state]),
} if {
	input.contract.state != "finalized"
}

query_violations contains {"term": "expires_at", "message": "the agreement has expired"} if {
	input.contract.expires_at != null
	input.now >= input.contract.expires_at
}

query_violations contains {
	"term": "fields",
	"message": sprintf("field %q is outside the agreement's fields", [field]),
} if {
	some field in input.query.fields
	not field in _terms.fields
}

query_violations contains {
	"term": "regions",
	"message": sprintf("region %q is outside the agreement's regions", [region]),
} if {
	_terms.regions != null
	some region in input.query.regions
	not region in _terms.regions
}

query_violations contains {
	"term": "aggregation",
	"message": sprintf("the agreement allows aggregates over at least %d contributors only: group and aggregate, do not list rows", [_terms.aggregation.min_contributors]),
} if {
	_terms.aggregation != null
	not input.query.aggregate
}

query_violations contains {"term": "fresh_data", "message": "the agreement does not allow live queries to the publisher"} if {
	input.query.fresh
	not _terms.fresh_data
}

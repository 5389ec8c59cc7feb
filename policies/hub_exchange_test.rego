package yunfab.authz_test

import rego.v1

import data.yunfab.authz

_consumer := {"kind": "client", "org": "c1", "org_kind": "consumer", "scopes": ["exchange:read", "exchange:write"]}

_publisher := {"kind": "client", "org": "p1", "org_kind": "publisher", "scopes": ["exchange:publish"]}

_node := {"kind": "client", "org": "n1", "org_kind": "node_operator", "node": "zj-textile", "scopes": ["nodes:register"]}

_policy := {
	"consumers": {"organizations": [], "kinds": ["consumer"]},
	"purposes": ["capacity-planning"],
	"fields": ["process", "week", "free_hours"],
	"regions": ["CN-ZJ"],
	"aggregation": null,
	"approval": "automatic",
}

_offer := {"status": "active", "expires_at": null, "provider_org": "p1", "policy": _policy}

_request := {"purpose": "capacity-planning", "fields": ["process"], "regions": ["CN-ZJ"]}

test_products_and_offers_are_published_by_their_own_organization if {
	authz.allow with input as {"subject": _publisher, "action": "hub.exchange.product.publish", "resource": {"org": "p1"}}
	authz.allow with input as {"subject": _node, "action": "hub.exchange.offer.publish", "resource": {"org": "n1"}}
	not authz.allow with input as {"subject": _publisher, "action": "hub.exchange.offer.publish", "resource": {"org": "n1"}}
	not authz.allow with input as {"subject": _consumer, "action": "hub.exchange.product.publish", "resource": {"org": "c1"}}
}

test_contract_steps_belong_to_their_party if {
	parties := {"org": "c1", "consumer_org": "c1", "provider_org": "p1"}
	authz.allow with input as {"subject": _consumer, "action": "hub.exchange.contract.agree", "resource": parties}
	not authz.allow with input as {"subject": _consumer, "action": "hub.exchange.contract.decide", "resource": parties}
	authz.allow with input as {"subject": _publisher, "action": "hub.exchange.contract.decide", "resource": parties}
	not authz.allow with input as {"subject": _publisher, "action": "hub.exchange.contract.agree", "resource": parties}
	authz.allow with input as {"subject": _publisher, "action": "hub.exchange.contract.terminate", "resource": parties}
	authz.allow with input as {"subject": _consumer, "action": "hub.exchange.contract.terminate", "resource": parties}
	not authz.allow with input as {
		"subject": object.union(_consumer, {"org": "c2"}),
		"action": "hub.exchange.contract.terminate", "resource": parties,
	}
}

# (contract_decision is these two together; regorus leaves it undefined under `with`.)
test_a_request_within_an_automatic_offer_is_approved if {
	authz.contract_outcome == "automatic" with input as {"subject": _consumer, "offer": _offer, "request": _request, "now": 1}
	count(authz.contract_violations) == 0 with input as {"subject": _consumer, "offer": _offer, "request": _request, "now": 1}
}

test_a_request_within_a_provider_approved_offer_waits_for_the_provider if {
	offer := object.union(_offer, {"policy": object.union(_policy, {"approval": "provider"})})
	authz.contract_outcome == "provider" with input as {"subject": _consumer, "offer": offer, "request": _request, "now": 1}
}

test_requests_outside_the_offer_name_the_terms_they_break if {
	request := {"purpose": "research", "fields": ["process", "hourly_rate"], "regions": ["CN-JS"]}
	authz.contract_outcome == "refused" with input as {"subject": _consumer, "offer": _offer, "request": request, "now": 1}
	violations := authz.contract_violations with input as {"subject": _consumer, "offer": _offer, "request": request, "now": 1}
	{v.term | some v in violations} == {"purposes", "fields", "regions"}
	factory := object.union(_consumer, {"org_kind": "factory"})
	refused := authz.contract_violations with input as {"subject": factory, "offer": _offer, "request": _request, "now": 1}
	{v.term | some v in refused} == {"consumers"}
	expired := object.union(_offer, {"expires_at": 10, "status": "withdrawn"})
	late := authz.contract_violations with input as {"subject": _consumer, "offer": expired, "request": _request, "now": 11}
	{v.term | some v in late} == {"offer", "expires_at"}
}

_contract := {
	"state": "finalized", "consumer_org": "c1", "expires_at": 100,
	"terms": {"fields": ["process", "free_hours"], "regions": ["CN-ZJ"], "aggregation": {"min_contributors": 3}, "fresh_data": false},
}

test_a_query_within_the_agreement_breaks_nothing if {
	query := {"fields": ["process", "free_hours"], "regions": ["CN-ZJ"], "aggregate": true, "fresh": false}
	count(authz.query_violations) == 0 with input as {"subject": _consumer, "contract": _contract, "query": query, "now": 50}
}

test_queries_outside_the_agreement_name_the_terms_they_break if {
	query := {"fields": ["process", "hourly_rate"], "regions": ["CN-JS"], "aggregate": false, "fresh": true}
	violations := authz.query_violations with input as {"subject": _consumer, "contract": _contract, "query": query, "now": 50}
	{v.term | some v in violations} == {"fields", "regions", "aggregation", "fresh_data"}
	ok := {"fields": ["process"], "regions": [], "aggregate": true, "fresh": false}
	ended := object.union(_contract, {"state": "terminated"})
	stopped := authz.query_violations with input as {"subject": _consumer, "contract": ended, "query": ok, "now": 50}
	{v.term | some v in stopped} == {"state"}
	expired := authz.query_violations with input as {"subject": _consumer, "contract": _contract, "query": ok, "now": 100}
	{v.term | some v in expired} == {"expires_at"}
	other := authz.query_violations with input as {"subject": object.union(_consumer, {"org": "c2"}), "contract": _contract, "query": ok, "now": 50}
	{v.term | some v in other} == {"consumers"}
}

# A node's own client pulls a brand's sales under its operator organization's agreement (issue #21).
test_a_nodes_client_reads_and_queries_its_operators_agreements_as_consumer if {
	as_consumer := {"org": "n1", "consumer_org": "n1", "provider_org": "p1"}
	authz.allow with input as {"subject": _node, "action": "hub.exchange.contract.read", "resource": as_consumer}
	not authz.allow with input as {
		"subject": _node, "action": "hub.exchange.contract.read",
		"resource": {"org": "c1", "consumer_org": "c1", "provider_org": "p1"},
	}
	authz.allow with input as {"subject": _node, "action": "hub.exchange.data.query", "resource": {}}
	terms := {"fields": ["process"], "regions": null, "aggregation": null, "fresh_data": false}
	contract := {"state": "finalized", "consumer_org": "n1", "expires_at": 100, "terms": terms}
	query := {"fields": ["process"], "regions": [], "aggregate": false, "fresh": false}
	count(authz.query_violations) == 0 with input as {"subject": _node, "contract": contract, "query": query, "now": 50}
	others := object.union(contract, {"consumer_org": "c1"})
	count(authz.query_violations) == 1 with input as {"subject": _node, "contract": others, "query": query, "now": 50}
}

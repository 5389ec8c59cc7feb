package yunfab.workforce_test

import rego.v1

import data.yunfab.authz

ctx := {"node_name": "zj-textile", "node_region": "CN-ZJ"}

lender := {"kind": "client", "org": "org-lender", "org_kind": "factory", "scopes": ["factories:write"]}

borrower := {"kind": "client", "org": "org-borrower", "org_kind": "factory", "scopes": ["factories:write"]}

operator := {"kind": "client", "node": "zj-textile", "scopes": ["nodes:register"]}

proposal(released) := {"org": "org-lender", "borrower": "org-borrower", "released": released}

test_contacts_reach_the_borrower_only_after_both_accept if {
	not authz.allow with input as {
		"subject": borrower, "action": "node.workforce.contact.read",
		"resource": proposal(false), "context": ctx,
	}
	authz.allow with input as {
		"subject": borrower, "action": "node.workforce.contact.read",
		"resource": proposal(true), "context": ctx,
	}
	authz.allow with input as {
		"subject": lender, "action": "node.workforce.contact.read",
		"resource": proposal(false), "context": ctx,
	}
	# the node operator runs the matching but reads no names
	not authz.allow with input as {
		"subject": operator, "action": "node.workforce.contact.read",
		"resource": proposal(true), "context": ctx,
	}
}

test_only_the_employer_consents_and_only_the_borrower_records_attendance if {
	authz.allow with input as {
		"subject": lender, "action": "node.workforce.proposal.consent",
		"resource": proposal(false), "context": ctx,
	}
	not authz.allow with input as {
		"subject": borrower, "action": "node.workforce.proposal.consent",
		"resource": proposal(false), "context": ctx,
	}
	authz.allow with input as {
		"subject": borrower, "action": "node.workforce.attendance.record",
		"resource": proposal(true), "context": ctx,
	}
	not authz.allow with input as {
		"subject": lender, "action": "node.workforce.attendance.record",
		"resource": proposal(true), "context": ctx,
	}
}

test_a_consent_link_needs_a_verified_link if {
	authz.allow with input as {
		"subject": {"kind": "anonymous", "scopes": []}, "action": "node.workforce.consent.link",
		"resource": {"link": "verified"}, "context": ctx,
	}
	not authz.allow with input as {
		"subject": {"kind": "anonymous", "scopes": []}, "action": "node.workforce.consent.link",
		"resource": {}, "context": ctx,
	}
}

test_matching_and_purge_are_the_operators if {
	authz.allow with input as {"subject": operator, "action": "node.workforce.match", "context": ctx}
	not authz.allow with input as {"subject": lender, "action": "node.workforce.match", "context": ctx}
	not authz.allow with input as {"subject": borrower, "action": "node.workforce.purge", "context": ctx}
}

remote(released) := {"org": "org-borrower", "released": released}

test_a_remote_contact_reaches_its_own_factory_once_released if {
	authz.allow with input as {
		"subject": borrower, "action": "node.workforce.remote.request",
		"resource": remote(false), "context": ctx,
	}
	not authz.allow with input as {
		"subject": lender, "action": "node.workforce.remote.request",
		"resource": remote(false), "context": ctx,
	}
	not authz.allow with input as {
		"subject": borrower, "action": "node.workforce.remote.contact",
		"resource": remote(false), "context": ctx,
	}
	authz.allow with input as {
		"subject": borrower, "action": "node.workforce.remote.contact",
		"resource": remote(true), "context": ctx,
	}
	not authz.allow with input as {
		"subject": lender, "action": "node.workforce.remote.contact",
		"resource": remote(true), "context": ctx,
	}
	# the operator follows the requests, never the contact
	authz.allow with input as {
		"subject": operator, "action": "node.workforce.remote.read",
		"resource": remote(true), "context": ctx,
	}
	not authz.allow with input as {
		"subject": operator, "action": "node.workforce.remote.contact",
		"resource": remote(true), "context": ctx,
	}
}

relay := {"borrower_node": "js-garment", "lender_node": "zj-textile", "borrower_org": "org-borrower"}

node_client(name) := {"kind": "client", "node": name, "org": "n1", "scopes": ["nodes:register"]}

test_each_node_relays_only_for_itself if {
	authz.allow with input as {
		"subject": node_client("js-garment"), "action": "hub.workforce.relay.request", "resource": relay,
	}
	not authz.allow with input as {
		"subject": node_client("zj-textile"), "action": "hub.workforce.relay.request", "resource": relay,
	}
	authz.allow with input as {
		"subject": node_client("zj-textile"), "action": "hub.workforce.relay.answer", "resource": relay,
	}
	not authz.allow with input as {
		"subject": node_client("js-garment"), "action": "hub.workforce.relay.answer", "resource": relay,
	}
	authz.allow with input as {
		"subject": node_client("js-garment"), "action": "hub.workforce.relay.outbox", "resource": relay,
	}
	not authz.allow with input as {
		"subject": node_client("zj-textile"), "action": "hub.workforce.relay.outbox", "resource": relay,
	}
	# a factory's own token is no node's
	not authz.allow with input as {
		"subject": object.union(borrower, {"node": "js-garment"}), "action": "hub.workforce.relay.request",
		"resource": relay,
	}
	authz.allow with input as {"subject": borrower, "action": "hub.workforce.relay.read", "resource": relay}
	not authz.allow with input as {"subject": lender, "action": "hub.workforce.relay.read", "resource": relay}
}

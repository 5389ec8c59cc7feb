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

# Shared workers on a node (regional_node/workforce): employers (a factory or a labour service)
# lend workers as pseudonymous profiles; factories post needs; the node operator matches them.
#
# Resources: a worker or a need is {"org": its employer's or factory's organization}; a
# proposal is {"org": the employer, "borrower": the need's factory, "released": true once
# both the employer and the worker accepted}. A borrower's reads of a proposal are therefore
# cross-organization, and audited.
package yunfab.authz

import rego.v1

workforce_actions := {
	"node.workforce.list",
	"node.workforce.match",
	"node.workforce.purge",
	"node.workforce.worker.read",
	"node.workforce.worker.manage",
	"node.workforce.need.read",
	"node.workforce.need.manage",
	"node.workforce.proposal.read",
	"node.workforce.proposal.consent",
	"node.workforce.consent.link",
	"node.workforce.contact.read",
	"node.workforce.attendance.record",
	"node.workforce.rating.worker",
	"node.workforce.rating.factory",
	"node.workforce.reliability.read",
	"node.workforce.remote.request",
	"node.workforce.remote.read",
	"node.workforce.remote.contact",
	"hub.workforce.relay.request",
	"hub.workforce.relay.inbox",
	"hub.workforce.relay.answer",
	"hub.workforce.relay.outbox",
	"hub.workforce.relay.list",
	"hub.workforce.relay.read",
}

# The node operator sees every pseudonymous profile, need and proposal, runs the matching and
# the retention purge. Not the workers' names: those are the employer's, and the borrower's
# after consent.
workforce(subject, action, _, context) if {
	action in {
		"node.workforce.list", "node.workforce.match", "node.workforce.purge",
		"node.workforce.worker.read", "node.workforce.need.read",
		"node.workforce.proposal.read", "node.workforce.reliability.read",
	}
	node_operator(subject, context)
}

# The employer's staff: their own workers (profiles, names, contacts, deletion) and their
# side of each proposal (their own consent, and the worker's recorded on the worker's behalf).
workforce(subject, action, resource, _) if {
	action in {"node.workforce.worker.read", "node.workforce.proposal.read"}
	_same_org(subject, resource)
	some scope in {"factories:read", "factories:write"}
	has_scope(subject, scope)
}

workforce(subject, action, resource, _) if {
	action in {
		"node.workforce.worker.manage", "node.workforce.proposal.consent",
		"node.workforce.contact.read", "node.workforce.rating.factory",
	}
	_same_org(subject, resource)
	has_scope(subject, "factories:write")
}

# A factory posts and closes its own needs, and sees proposals for them: pseudonyms, skills
# and days only.
workforce(subject, "node.workforce.need.read", resource, _) if {
	_same_org(subject, resource)
	some scope in {"factories:read", "factories:write"}
	has_scope(subject, scope)
}

workforce(subject, "node.workforce.need.manage", resource, _) if {
	_same_org(subject, resource)
	has_scope(subject, "factories:write")
}

workforce(subject, "node.workforce.proposal.read", resource, _) if {
	_borrower(subject, resource)
	some scope in {"factories:read", "factories:write"}
	has_scope(subject, scope)
}

# The worker's name and contact reach the borrower only once both sides accepted.
workforce(subject, "node.workforce.contact.read", resource, _) if {
	_borrower(subject, resource)
	resource.released == true
	has_scope(subject, "factories:write")
}

workforce(subject, action, resource, _) if {
	action in {"node.workforce.attendance.record", "node.workforce.rating.worker"}
	_borrower(subject, resource)
	has_scope(subject, "factories:write")
}

# A worker answering through their one-time link holds no account: the service has checked
# the link (unknown, used or expired links never get here).
workforce(_, "node.workforce.consent.link", resource, _) if resource.link == "verified"

# Workers' ratings of a factory, in aggregate: the factory itself.
workforce(subject, "node.workforce.reliability.read", resource, _) if _same_org(subject, resource)

# Across nodes (the borrowing node): a factory asks another node, through the hub, for a
# worker it offers there, for one of its own needs; it reads its requests, and the worker's
# contact once both the employer and the worker accepted and the contact has come.
# `resource` is {"org": the borrowing factory, "released": contact received}.
workforce(subject, "node.workforce.remote.request", resource, _) if {
	_same_org(subject, resource)
	has_scope(subject, "factories:write")
}

workforce(subject, "node.workforce.remote.read", resource, _) if {
	_same_org(subject, resource)
	some scope in {"factories:read", "factories:write"}
	has_scope(subject, scope)
}

workforce(subject, "node.workforce.remote.read", _, context) if node_operator(subject, context)

workforce(subject, "node.workforce.remote.contact", resource, _) if {
	_same_org(subject, resource)
	resource.released == true
	has_scope(subject, "factories:write")
}

# At the hub, the relay between nodes: each node's own client sends its factories' requests,
# takes the requests to it and answers them, and takes the answers to its requests, each only
# for itself. Resources name the nodes: {"borrower_node", "lender_node", "borrower_org"}.
workforce(subject, "hub.workforce.relay.request", resource, _) if {
	_relay_node(subject)
	subject.node == resource.borrower_node
}

workforce(subject, action, resource, _) if {
	action in {"hub.workforce.relay.inbox", "hub.workforce.relay.answer"}
	_relay_node(subject)
	subject.node == resource.lender_node
}

workforce(subject, "hub.workforce.relay.outbox", resource, _) if {
	_relay_node(subject)
	subject.node == resource.borrower_node
}

# What was relayed (no personal data): the hub's operators all, a borrower its own.
workforce(subject, "hub.workforce.relay.list", _, _) if hub_operator(subject)

workforce(subject, "hub.workforce.relay.read", resource, _) if {
	authenticated(subject)
	subject.org != null
	subject.org == resource.borrower_org
}

_relay_node(subject) if {
	subject.kind == "client"
	subject.node != null
	has_scope(subject, "nodes:register")
}

_same_org(subject, resource) if {
	authenticated(subject)
	resource.org != null
	subject.org == resource.org
}

_borrower(subject, resource) if {
	authenticated(subject)
	resource.borrower != null
	subject.org == resource.borrower
}

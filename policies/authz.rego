# Entry point of every authorization decision on the hub and on nodes.
#
# input:
#   subject   verified token claims in Yunfab's shape (kind, id, org, org_kind, region, node,
#             scopes, roles); kind "anonymous" when no token was given, "system" for the
#             local operator's CLI
#   action    "<service>.<thing>.<verb>", e.g. "hub.node.register"
#   resource  what the action is on (one object), or resources: a list decided in one batch
#   context   facts about the deciding service (env, node_name, node_region)
#
# Deny by default: an action no rule permits is denied, and so is anything the engine cannot
# evaluate. Rules live beside this file, one file per domain, all in this package.
package yunfab.authz

import rego.v1

default allow := false

allow if permit(input.subject, input.action, object.get(input, "resource", {}), _context)

# One decision per entry of input.resources, in order: lists are filtered in one evaluation.
allowed := [decide(input.subject, input.action, r, _context) | some r in input.resources]

decide(subject, action, resource, context) := count([1 | permit(subject, action, resource, context)]) > 0

_context := object.get(input, "context", {})

# Each domain file defines its own rule set; an action is permitted when one of them permits it.
# (One function name per file: regorus does not merge a function defined across files.)
# Each file also lists the actions it owns, so a decision only evaluates the rules that can apply.
permit(subject, action, resource, context) if {
	action in federation_actions
	federation(subject, action, resource, context)
}

permit(subject, action, resource, context) if {
	action in federated_actions
	federated(subject, action, resource, context)
}

permit(subject, action, resource, context) if {
	action in exchange_actions
	exchange(subject, action, resource, context)
}

permit(subject, action, resource, context) if {
	action in board_actions
	board(subject, action, resource, context)
}

permit(subject, action, resource, context) if {
	action in identity_actions
	identity(subject, action, resource, context)
}

permit(subject, action, resource, context) if {
	action in market_actions
	market(subject, action, resource, context)
}

permit(subject, action, resource, context) if {
	action in node_actions
	node(subject, action, resource, context)
}

permit(subject, action, resource, context) if {
	action in workforce_actions
	workforce(subject, action, resource, context)
}

# Helpers shared by the domain files.

authenticated(subject) if subject.kind in {"client", "user"}

has_scope(subject, scope) if scope in subject.scopes

has_role(subject, role) if role in object.get(subject, "roles", [])

hub_operator(subject) if {
	authenticated(subject)
	subject.org_kind == "hub_operator"
}

# The operator at the hub's own console (CLI): bootstrap, clients, keys.
system(subject) if subject.kind == "system"

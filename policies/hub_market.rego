# The knowledge and app market (issue #9): publishers, keys, releases, entitlements,
# installations on nodes, reviews. Deny by default: only what a rule here permits.
#
# Resources: {org} is the organization the action concerns (the publisher of a listing, the
# operator of a node, the caller's own for keys); {node} is a node's name; {kind} a key's kind.
package yunfab.authz

import rego.v1

market_actions := {
	"hub.market.read",
	"hub.market.trust.read",
	"hub.market.key.register",
	"hub.market.key.retire",
	"hub.market.publisher.verify",
	"hub.market.release.publish",
	"hub.market.release.review",
	"hub.market.release.yank",
	"hub.market.release.revoke",
	"hub.market.entitlement.grant",
	"hub.market.install.request",
	"hub.market.install.remove",
	"hub.market.install.read",
	"hub.market.node.sync",
	"hub.market.listing.review",
}

_market_scopes := {"market:read", "market:publish", "market:install", "market:review"}

_market_publisher_kinds := {"publisher", "node_operator", "hub_operator"}

# A regional node's own client.
_market_node(subject) if {
	subject.kind == "client"
	subject.node != null
	has_scope(subject, "nodes:register")
}

# An organization that may publish: its own listings, keys and entitlements only.
_market_publisher(subject, resource) if {
	authenticated(subject)
	subject.org != null
	subject.org_kind in _market_publisher_kinds
	has_scope(subject, "market:publish")
	resource.org == subject.org
}

# The hub operator's reviewers (people with the reviewer or admin role).
_market_reviewer(subject) if {
	hub_operator(subject)
	has_scope(subject, "market:review")
	some role in {"reviewer", "admin"}
	has_role(subject, role)
}

# The operator organization of a node (people or clients with market:install), or the node.
_market_node_operator(subject, resource) if {
	authenticated(subject)
	subject.org != null
	has_scope(subject, "market:install")
	resource.org == subject.org
}

_market_node_operator(subject, resource) if {
	_market_node(subject)
	resource.node == subject.node
}

market(subject, action, _, _) if {
	action in {"hub.market.read", "hub.market.trust.read"}
	authenticated(subject)
	some scope in _market_scopes
	has_scope(subject, scope)
}

market(subject, action, _, _) if {
	action in {"hub.market.read", "hub.market.trust.read"}
	_market_node(subject)
}

market(subject, action, resource, _) if {
	action in {"hub.market.key.register", "hub.market.key.retire"}
	resource.kind == "publisher"
	_market_publisher(subject, resource)
}

market(subject, action, resource, _) if {
	action in {"hub.market.key.register", "hub.market.key.retire"}
	resource.kind == "reviewer"
	_market_reviewer(subject)
	resource.org == subject.org
}

market(subject, "hub.market.publisher.verify", _, _) if _market_reviewer(subject)

market(subject, "hub.market.release.review", _, _) if _market_reviewer(subject)

market(subject, action, resource, _) if {
	action in {"hub.market.release.publish", "hub.market.entitlement.grant"}
	_market_publisher(subject, resource)
}

# A release is yanked or revoked by its publisher, or by the hub's reviewers.
market(subject, action, resource, _) if {
	action in {"hub.market.release.yank", "hub.market.release.revoke"}
	_market_publisher(subject, resource)
}

market(subject, action, _, _) if {
	action in {"hub.market.release.yank", "hub.market.release.revoke"}
	_market_reviewer(subject)
}

market(subject, action, resource, _) if {
	action in {"hub.market.install.request", "hub.market.install.remove", "hub.market.install.read"}
	resource.org != null
	_market_node_operator(subject, resource)
}

market(subject, action, resource, _) if {
	action in {"hub.market.install.request", "hub.market.install.remove", "hub.market.install.read"}
	resource.node != null
	_market_node(subject)
	resource.node == subject.node
}

market(subject, "hub.market.install.read", _, _) if _market_reviewer(subject)

# A node syncs its own installations only.
market(subject, "hub.market.node.sync", resource, _) if {
	_market_node(subject)
	resource.node == subject.node
}

market(subject, "hub.market.listing.review", resource, _) if {
	authenticated(subject)
	subject.org != null
	has_scope(subject, "market:install")
	resource.org == subject.org
}

# The operator at the hub's console may do what the hub's reviewers do.
market(subject, action, _, _) if {
	action in {
		"hub.market.read", "hub.market.trust.read", "hub.market.publisher.verify",
		"hub.market.release.yank", "hub.market.release.revoke", "hub.market.install.read",
	}
	system(subject)
}

# Node federation: the node directory, registration and heartbeats.
package yunfab.authz

import rego.v1

federation_actions := {
	"hub.regional_nodes.list",
	"hub.regional_node.read_field",
	"hub.node.register",
	"hub.node.heartbeat",
	"hub.node.change_url",
	"hub.revocations.list",
}

# The directory of regional nodes (name, region, industry, liveness) is public: platforms and
# factories find their node through it.
federation(_, "hub.regional_nodes.list", _, _) := true

# A node's base URL and software version are for authenticated platform members who asked to
# read nodes (which versions run where would help an attacker pick a target).
federation(subject, "hub.regional_node.read_field", resource, _) if {
	resource.field in {"baseUrl", "version"}
	authenticated(subject)
	has_scope(subject, "nodes:read")
}

federation(_, "hub.regional_node.read_field", resource, _) if {
	resource.field in {"name", "region", "industry", "status", "lastHeartbeat", "registeredAt"}
}

# A node registers and heartbeats only as itself, in its own region, with its own client.
federation(subject, action, resource, _) if {
	action in {"hub.node.register", "hub.node.heartbeat"}
	subject.kind == "client"
	has_scope(subject, "nodes:register")
	subject.node == resource.name
	_same_region(subject, resource)
}

_same_region(_, resource) if not resource.region

# A node's URL is fixed when it enrols; only the hub's administrators move it (a node's own
# credentials could otherwise point it at another node, or anywhere the hub can reach).
# `_administrator` is the identity file's: the console, or a hub operator's admin with hub:admin.
federation(subject, "hub.node.change_url", _, _) if _administrator(subject)

_same_region(subject, resource) if subject.region == resource.region

# Nodes fetch the revocations they must enforce.
federation(subject, "hub.revocations.list", _, _) if {
	subject.kind == "client"
	has_scope(subject, "nodes:register")
}

# Decisions taken on a regional node (context.node_name, context.node_region).
package yunfab.authz

import rego.v1

node_actions := {"node.info.read", "node.factory.read"}

# Anyone signed in on the platform may see which node this is and how its hub link is doing.
node(subject, "node.info.read", _, _) if authenticated(subject)

# Factories: the node's own operator organization and the hub operator, or a platform member of
# the same region who asked to read factories.
node(subject, "node.factory.read", _, context) if {
	has_scope(subject, "factories:read")
	_serves_region(subject, context)
}

_serves_region(subject, _) if hub_operator(subject)

_serves_region(subject, context) if {
	authenticated(subject)
	subject.region == context.node_region
}

# Decisions taken on a regional node (context.node_name, context.node_region, and
# context.operator_org: the hub organization that runs the node, when configured).
#
# Resources on a node are about one factory: {"factory": slug, "org": the factory's
# organization at the hub (or null)}. Actions checked before a factory is known (listing,
# inviting) come with no resource.
package yunfab.authz

import rego.v1

node_actions := {
	"node.info.read",
	"node.factory.list",
	"node.factory.read",
	"node.factory.invite",
	"node.factory.edit",
	"node.factory.submit",
	"node.factory.review",
	"node.device.read",
	"node.device.manage",
	"node.telemetry.read",
	"node.alert.read",
	"node.alert.manage",
	"node.alert.respond",
	"node.alert.list",
	"node.contact_point.read",
	"node.contact_point.manage",
	"node.deadletter.read",
	"node.audit.read",
	"node.routing.read",
	"node.routing.manage",
	"node.order.place",
	"node.order.list",
	"node.order.read",
	"node.order.plan",
	"node.order.advance",
	"node.order.receive",
	"node.order.cancel",
	"node.workorder.read",
	"node.workorder.report",
	"node.breakdown.report",
	"node.schedule.read",
	"node.schedule.manage",
	"node.vision.model.read",
	"node.vision.model.train",
	"node.vision.station.read",
	"node.vision.station.manage",
	"node.vision.inspect",
	"node.vision.count",
	"node.vision.quality.read",
	"node.vision.image.read",
	"node.data_product.live",
	"node.market.read",
	"node.data_product.read",
	"node.overview.read",
	"node.demand.list",
	"node.demand.product.read",
	"node.demand.product.manage",
	"node.demand.rule.manage",
	"node.demand.sales.read",
	"node.demand.sales.write",
	"node.demand.forecast.read",
	"node.demand.forecast.run",
	"node.demand.plan.read",
	"node.demand.plan.make",
	"node.demand.proposal.accept",
}

# Anyone signed in on the platform may see which node this is and how its hub link is doing.
node(subject, "node.info.read", _, _) if authenticated(subject)

# Listing factories: operators, platforms of the region that read factories, and factory people
# (who then see their own factory only: each row is decided by node.factory.read).
node(subject, "node.factory.list", _, context) if node_operator(subject, context)

node(subject, "node.factory.list", _, context) if _region_reader(subject, context)

node(subject, "node.factory.list", _, _) if factory_person(subject)

node(subject, "node.factory.read", _, context) if node_operator(subject, context)

node(subject, "node.factory.read", _, context) if _region_reader(subject, context)

node(subject, "node.factory.read", resource, _) if factory_member(subject, resource)

node(subject, "node.factory.invite", _, context) if node_operator(subject, context)

# A factory fills in its own profile and submits it; review is the operator's.
node(subject, action, _, context) if {
	action in {"node.factory.edit", "node.factory.submit", "node.factory.review"}
	node_operator(subject, context)
}

node(subject, action, resource, _) if {
	action in {"node.factory.edit", "node.factory.submit"}
	factory_member(subject, resource)
	has_scope(subject, "factories:write")
}

# Devices, telemetry and alerts of a factory: its own people and the node operator. Platforms
# of the region do not see machine data here; that is shared through the hub's data exchange.
node(subject, action, _, context) if {
	action in {
		"node.device.read", "node.device.manage", "node.telemetry.read",
		"node.alert.read", "node.alert.manage", "node.alert.respond",
	}
	node_operator(subject, context)
}

node(subject, action, resource, _) if {
	action in {"node.device.read", "node.telemetry.read", "node.alert.read", "node.alert.respond"}
	factory_member(subject, resource)
}

node(subject, action, resource, _) if {
	action in {"node.device.manage", "node.alert.manage"}
	factory_member(subject, resource)
	has_scope(subject, "devices:write")
}

# The node's alert list: the operator sees every factory's alerts, factory people their own
# (each factory is decided by node.alert.read). Contact points (where a factory's notifications
# go, with the robots' tokens) are managed like its devices; node-wide ones (no resource) are the
# operator's alone.
node(subject, "node.alert.list", _, context) if node_operator(subject, context)

node(subject, "node.alert.list", _, _) if factory_person(subject)

node(subject, action, _, context) if {
	action in {"node.contact_point.read", "node.contact_point.manage"}
	node_operator(subject, context)
}

node(subject, "node.contact_point.read", resource, _) if factory_member(subject, resource)

node(subject, "node.contact_point.manage", resource, _) if {
	factory_member(subject, resource)
	has_scope(subject, "devices:write")
}

node(subject, action, _, context) if {
	action in {"node.deadletter.read", "node.audit.read"}
	node_operator(subject, context)
}

# Routings (product templates) are public to everyone signed in; the operator imports them.
node(subject, "node.routing.read", _, _) if authenticated(subject)

node(subject, "node.routing.manage", _, context) if node_operator(subject, context)

# Orders: a buyer's people place and follow their organization's orders; the node operator
# sees them all, plans, dispatches, re-plans and records inspection and shipping. Only the
# buyer confirms delivery; either may cancel.
node(subject, "node.order.place", resource, _) if {
	buyer(subject, resource)
	has_scope(subject, "orders:write")
}

node(subject, action, _, context) if {
	action in {"node.order.list", "node.order.read", "node.order.plan", "node.order.advance", "node.order.cancel"}
	node_operator(subject, context)
}

node(subject, "node.order.read", resource, _) if {
	buyer(subject, resource)
	some scope in {"orders:read", "orders:write"}
	has_scope(subject, scope)
}

node(subject, action, resource, _) if {
	action in {"node.order.receive", "node.order.cancel"}
	buyer(subject, resource)
	has_scope(subject, "orders:write")
}

# Work orders, breakdowns and in-factory schedules: the factory's own people and the operator.
node(subject, action, _, context) if {
	action in {
		"node.workorder.read", "node.workorder.report", "node.breakdown.report",
		"node.schedule.read", "node.schedule.manage",
	}
	node_operator(subject, context)
}

node(subject, action, resource, _) if {
	action in {"node.workorder.read", "node.schedule.read"}
	factory_member(subject, resource)
}

node(subject, action, resource, _) if {
	action in {"node.workorder.report", "node.breakdown.report", "node.schedule.manage"}
	factory_member(subject, resource)
	has_scope(subject, "factories:write")
}

# Factory vision: the factory's own people and the node operator, nobody else. Raw images and
# frames (node.vision.image.read) never leave the node: no scope, region or hub role opens them
# to a subject outside it (buyers, other platforms, the hub's operators).
node(subject, action, _, context) if {
	startswith(action, "node.vision.")
	action in node_actions
	node_operator(subject, context)
	_not_hub_staff_for_images(subject, action)
}

# Even when a deployment makes the hub's own organization a node's operator, hub staff do not
# open a factory's images.
_not_hub_staff_for_images(_, action) if action != "node.vision.image.read"

_not_hub_staff_for_images(subject, "node.vision.image.read") if {
	object.get(subject, "org_kind", null) != "hub_operator"
}

node(subject, action, resource, _) if {
	action in {
		"node.vision.model.read", "node.vision.station.read", "node.vision.quality.read",
		"node.vision.image.read",
	}
	factory_member(subject, resource)
}

node(subject, action, resource, _) if {
	action in {
		"node.vision.model.train", "node.vision.station.manage", "node.vision.inspect",
		"node.vision.count",
	}
	factory_member(subject, resource)
	has_scope(subject, "factories:write")
}

# Live rows of the node's data products: only the hub's data exchange asks, with a token the hub
# mints for itself (client "hub", scope exchange:live, which no client can be granted). The hub
# checks the consumer's agreement before it asks; nobody else reads a product's rows here.
node(subject, "node.data_product.live", _, _) if {
	subject.kind == "client"
	subject.client_id == "hub"
	subject.org_kind == "hub_operator"
	has_scope(subject, "exchange:live")
}

# What the market installed here (releases, what they activated, failures and their codes): the
# node operator. The installing itself is the node's own work, on the hub's approval.
node(subject, "node.market.read", _, context) if node_operator(subject, context)

# Which data products this node publishes and how far their sync with the hub has got (not their
# rows, which only the hub's data exchange reads), and the console's overview of the whole node
# (every factory's counts): the node operator.
node(subject, action, _, context) if {
	action in {"node.data_product.read", "node.overview.read"}
	node_operator(subject, context)
}

# C2M demand: a brand (a buyer organization) keeps its own configurable products, SKUs, stock
# and sales here, forecasts them and plans production from the forecasts; orders:read lets its
# people see them, orders:write change them. The node operator sees every brand's, and alone
# accepts proposals (they become orders on the node's factories) and sets auto-accept rules.
node(subject, action, _, context) if {
	action in {
		"node.demand.list", "node.demand.product.read", "node.demand.product.manage",
		"node.demand.rule.manage", "node.demand.sales.read", "node.demand.sales.write",
		"node.demand.forecast.read", "node.demand.forecast.run", "node.demand.plan.read",
		"node.demand.plan.make", "node.demand.proposal.accept",
	}
	node_operator(subject, context)
}

node(subject, action, resource, _) if {
	action in {
		"node.demand.product.read", "node.demand.sales.read", "node.demand.forecast.read",
		"node.demand.plan.read",
	}
	buyer(subject, resource)
	some scope in {"orders:read", "orders:write"}
	has_scope(subject, scope)
}

node(subject, action, resource, _) if {
	action in {
		"node.demand.product.manage", "node.demand.sales.write", "node.demand.forecast.run",
		"node.demand.plan.make",
	}
	buyer(subject, resource)
	has_scope(subject, "orders:write")
}

buyer(subject, resource) if {
	authenticated(subject)
	resource.org != null
	subject.org == resource.org
}

# Who operates this node: its own client (the node's credentials at the hub), the console on
# the node's machine, or people and clients of the operator organization with node:operate.
node_operator(subject, context) if {
	authenticated(subject)
	subject.node == context.node_name
}

node_operator(subject, _) if system(subject)

node_operator(subject, context) if {
	authenticated(subject)
	context.operator_org != null
	subject.org == context.operator_org
	has_scope(subject, "node:operate")
}

factory_person(subject) if {
	authenticated(subject)
	subject.org_kind == "factory"
}

factory_member(subject, resource) if {
	factory_person(subject)
	resource.org != null
	subject.org == resource.org
}

_region_reader(subject, context) if {
	has_scope(subject, "factories:read")
	_serves_region(subject, context)
}

_serves_region(subject, _) if hub_operator(subject)

_serves_region(subject, context) if {
	authenticated(subject)
	subject.region == context.node_region
}

package yunfab.authz_test

import rego.v1

import data.yunfab.authz

zj_context := {"node_name": "zj-textile", "node_region": "CN-ZJ"}

test_factories_for_the_same_region if {
	authz.allow with input as {
		"subject": {"kind": "client", "region": "CN-ZJ", "org_kind": "consumer", "scopes": ["factories:read"]},
		"action": "node.factory.read", "context": zj_context,
	}
	not authz.allow with input as {
		"subject": {"kind": "client", "region": "CN-GD", "org_kind": "consumer", "scopes": ["factories:read"]},
		"action": "node.factory.read", "context": zj_context,
	}
	not authz.allow with input as {
		"subject": {"kind": "anonymous", "scopes": []},
		"action": "node.factory.read", "context": zj_context,
	}
}

test_hub_operator_sees_every_node if {
	authz.allow with input as {
		"subject": {"kind": "client", "region": null, "org_kind": "hub_operator", "scopes": ["factories:read"]},
		"action": "node.factory.read", "context": zj_context,
	}
}

vision_image := {"factory": "mill-1", "org": "org-mill-1"}

test_raw_images_stay_with_the_factory_and_the_node if {
	authz.allow with input as {
		"subject": {"kind": "user", "org": "org-mill-1", "org_kind": "factory", "scopes": []},
		"action": "node.vision.image.read", "resource": vision_image, "context": zj_context,
	}
	authz.allow with input as {
		"subject": {"kind": "client", "node": "zj-textile", "scopes": ["nodes:register"]},
		"action": "node.vision.image.read", "resource": vision_image, "context": zj_context,
	}
	# another factory, a buyer of the same organization kind, a platform of the region, the hub
	not authz.allow with input as {
		"subject": {"kind": "user", "org": "org-mill-2", "org_kind": "factory", "scopes": ["factories:write"]},
		"action": "node.vision.image.read", "resource": vision_image, "context": zj_context,
	}
	not authz.allow with input as {
		"subject": {"kind": "client", "org": "org-buyer", "org_kind": "consumer", "region": "CN-ZJ", "scopes": ["factories:read", "orders:write"]},
		"action": "node.vision.image.read", "resource": vision_image, "context": zj_context,
	}
	not authz.allow with input as {
		"subject": {"kind": "user", "org": "org-hub", "org_kind": "hub_operator", "scopes": ["factories:read", "node:operate"]},
		"action": "node.vision.image.read", "resource": vision_image, "context": zj_context,
	}
}

test_hub_staff_do_not_open_images_even_as_the_node_operator if {
	operating := {"node_name": "zj-textile", "node_region": "CN-ZJ", "operator_org": "org-hub"}
	authz.allow with input as {
		"subject": {"kind": "user", "org": "org-hub", "org_kind": "hub_operator", "scopes": ["node:operate"]},
		"action": "node.vision.station.read", "resource": vision_image, "context": operating,
	}
	not authz.allow with input as {
		"subject": {"kind": "user", "org": "org-hub", "org_kind": "hub_operator", "scopes": ["node:operate"]},
		"action": "node.vision.image.read", "resource": vision_image, "context": operating,
	}
}

test_factory_people_need_write_scope_to_train_and_inspect if {
	authz.allow with input as {
		"subject": {"kind": "user", "org": "org-mill-1", "org_kind": "factory", "scopes": ["factories:write"]},
		"action": "node.vision.model.train", "resource": vision_image, "context": zj_context,
	}
	not authz.allow with input as {
		"subject": {"kind": "user", "org": "org-mill-1", "org_kind": "factory", "scopes": []},
		"action": "node.vision.inspect", "resource": vision_image, "context": zj_context,
	}
}

hub_live := {"kind": "client", "id": "hub", "client_id": "hub", "org": null, "org_kind": "hub_operator", "scopes": ["exchange:live"]}

test_only_the_hub_reads_live_data_product_rows if {
	authz.allow with input as {
		"subject": hub_live, "action": "node.data_product.live",
		"resource": {"product": "regional-capacity"}, "context": zj_context,
	}
}

test_live_rows_are_refused_to_anyone_else if {
	live := {"action": "node.data_product.live", "resource": {"product": "regional-capacity"}, "context": zj_context}
	# the hub's token without the scope, or not its own client, or not a client token at all
	not authz.allow with input as object.union(live, {"subject": object.union(hub_live, {"scopes": ["factories:read"]})})
	not authz.allow with input as object.union(live, {"subject": object.union(hub_live, {"client_id": "c-123"})})
	not authz.allow with input as object.union(live, {"subject": object.union(hub_live, {"kind": "user"})})
	not authz.allow with input as object.union(live, {"subject": object.union(hub_live, {"org_kind": "consumer"})})
	# the node's own client, a platform of the region, the node operator's console
	not authz.allow with input as object.union(live, {"subject": {"kind": "client", "node": "zj-textile", "scopes": ["nodes:register"]}})
	not authz.allow with input as object.union(live, {"subject": {"kind": "client", "org_kind": "consumer", "region": "CN-ZJ", "scopes": ["factories:read", "exchange:read"]}})
	not authz.allow with input as object.union(live, {"subject": {"kind": "system", "scopes": []}})
	not authz.allow with input as object.union(live, {"subject": {"kind": "anonymous", "scopes": []}})
}

test_only_the_operator_lists_market_installations if {
	market := {"action": "node.market.read", "context": zj_context}
	authz.allow with input as object.union(market, {"subject": {"kind": "client", "node": "zj-textile", "scopes": ["nodes:register"]}})
	authz.allow with input as object.union(market, {"subject": {"kind": "system", "scopes": []}})
	not authz.allow with input as object.union(market, {"subject": {"kind": "client", "node": "gd-plastics", "scopes": ["nodes:register"]}})
	not authz.allow with input as object.union(market, {"subject": {"kind": "user", "org": "org-mill-1", "org_kind": "factory", "scopes": ["factories:write"]}})
	not authz.allow with input as object.union(market, {"subject": {"kind": "anonymous", "scopes": []}})
}

zj_factory := {"factory": "mill-1", "org": "org-mill-1"}

test_contact_points_are_the_factorys_device_managers_and_the_operators if {
	authz.allow with input as {
		"subject": {"kind": "client", "org": "org-mill-1", "org_kind": "factory", "scopes": ["devices:write"]},
		"action": "node.contact_point.manage", "resource": zj_factory, "context": zj_context,
	}
	authz.allow with input as {
		"subject": {"kind": "client", "node": "zj-textile", "scopes": ["nodes:register"]},
		"action": "node.contact_point.manage", "context": zj_context,
	}
	# reading without devices:write, but not managing; another factory neither; node-wide ones
	# are the operator's alone
	authz.allow with input as {
		"subject": {"kind": "client", "org": "org-mill-1", "org_kind": "factory", "scopes": ["factories:write"]},
		"action": "node.contact_point.read", "resource": zj_factory, "context": zj_context,
	}
	not authz.allow with input as {
		"subject": {"kind": "client", "org": "org-mill-1", "org_kind": "factory", "scopes": ["factories:write"]},
		"action": "node.contact_point.manage", "resource": zj_factory, "context": zj_context,
	}
	not authz.allow with input as {
		"subject": {"kind": "client", "org": "org-mill-2", "org_kind": "factory", "scopes": ["devices:write"]},
		"action": "node.contact_point.read", "resource": zj_factory, "context": zj_context,
	}
	not authz.allow with input as {
		"subject": {"kind": "client", "org": "org-mill-1", "org_kind": "factory", "scopes": ["devices:write"]},
		"action": "node.contact_point.manage", "context": zj_context,
	}
}

test_only_the_operator_reads_the_overview_and_the_data_products if {
	every action in {"node.overview.read", "node.data_product.read"} {
		asked := {"action": action, "context": zj_context}
		authz.allow with input as object.union(asked, {"subject": {"kind": "client", "node": "zj-textile", "scopes": ["nodes:register"]}})
		authz.allow with input as object.union(asked, {"subject": {"kind": "system", "scopes": []}})
		not authz.allow with input as object.union(asked, {"subject": {"kind": "client", "node": "gd-plastics", "scopes": ["nodes:register"]}})
		not authz.allow with input as object.union(asked, {"subject": {"kind": "user", "org": "org-mill-1", "org_kind": "factory", "scopes": ["factories:write"]}, "resource": zj_factory})
		not authz.allow with input as object.union(asked, {"subject": {"kind": "client", "org_kind": "consumer", "region": "CN-ZJ", "scopes": ["factories:read", "orders:write"]}})
		not authz.allow with input as object.union(asked, {"subject": {"kind": "anonymous", "scopes": []}})
	}
}

brand_a := {"org": "org-brand-a"}

brand_a_reader := {"kind": "user", "org": "org-brand-a", "org_kind": "consumer", "scopes": ["orders:read"]}

brand_a_writer := {"kind": "client", "org": "org-brand-a", "org_kind": "consumer", "scopes": ["orders:write"]}

test_a_brand_reads_and_changes_only_its_own_demand if {
	every action in {"node.demand.product.read", "node.demand.sales.read", "node.demand.forecast.read", "node.demand.plan.read"} {
		asked := {"action": action, "resource": brand_a, "context": zj_context}
		authz.allow with input as object.union(asked, {"subject": brand_a_reader})
		authz.allow with input as object.union(asked, {"subject": brand_a_writer})
		# another brand, the brand without an orders scope, nobody
		not authz.allow with input as object.union(asked, {"subject": object.union(brand_a_writer, {"org": "org-brand-b"})})
		not authz.allow with input as object.union(asked, {"subject": object.union(brand_a_reader, {"scopes": ["exchange:read"]})})
		not authz.allow with input as object.union(asked, {"subject": {"kind": "anonymous", "scopes": []}})
	}
	every action in {"node.demand.product.manage", "node.demand.sales.write", "node.demand.forecast.run", "node.demand.plan.make"} {
		asked := {"action": action, "resource": brand_a, "context": zj_context}
		authz.allow with input as object.union(asked, {"subject": brand_a_writer})
		not authz.allow with input as object.union(asked, {"subject": brand_a_reader})
		not authz.allow with input as object.union(asked, {"subject": object.union(brand_a_writer, {"org": "org-brand-b"})})
		# nor without a resource: what is the brand's is always asked about with its org
		not authz.allow with input as {"action": action, "context": zj_context, "subject": brand_a_writer}
	}
}

test_only_the_operator_lists_every_brand_accepts_proposals_and_sets_rules if {
	every action in {"node.demand.list", "node.demand.proposal.accept", "node.demand.rule.manage"} {
		asked := {"action": action, "resource": brand_a, "context": zj_context}
		authz.allow with input as object.union(asked, {"subject": {"kind": "client", "node": "zj-textile", "scopes": ["nodes:register"]}})
		authz.allow with input as object.union(asked, {"subject": {"kind": "system", "scopes": []}})
		authz.allow with input as object.union(asked, {
			"subject": {"kind": "user", "org": "org-op", "org_kind": "node_operator", "scopes": ["node:operate"]},
			"context": object.union(zj_context, {"operator_org": "org-op"}),
		})
		not authz.allow with input as object.union(asked, {"subject": brand_a_writer})
		not authz.allow with input as object.union(asked, {"subject": {"kind": "client", "node": "gd-plastics", "scopes": ["nodes:register"]}})
		not authz.allow with input as object.union(asked, {"subject": {"kind": "user", "org": "org-mill-1", "org_kind": "factory", "scopes": ["factories:write", "orders:write"]}})
	}
	# the operator does the brand's work too
	every action in {"node.demand.product.manage", "node.demand.sales.write", "node.demand.forecast.run", "node.demand.plan.make", "node.demand.plan.read"} {
		authz.allow with input as {"action": action, "resource": brand_a, "context": zj_context, "subject": {"kind": "client", "node": "zj-textile", "scopes": ["nodes:register"]}}
	}
}

package yunfab.authz_test

import rego.v1

import data.yunfab.authz

node_client := {
	"kind": "client", "id": "c-zj", "org": "o-zj", "org_kind": "node_operator",
	"region": "CN-ZJ", "node": "zj-textile", "scopes": ["nodes:register"], "roles": [],
}

consumer := {
	"kind": "client", "id": "c-buyer", "org": "o-buyer", "org_kind": "consumer",
	"region": null, "node": null, "scopes": ["nodes:read"], "roles": [],
}

anonymous := {"kind": "anonymous", "scopes": [], "roles": []}

test_anyone_lists_the_node_directory if {
	authz.allow with input as {"subject": anonymous, "action": "hub.regional_nodes.list"}
}

test_a_node_registers_as_itself if {
	authz.allow with input as {
		"subject": node_client, "action": "hub.node.register",
		"resource": {"name": "zj-textile", "region": "CN-ZJ"},
	}
}

test_a_node_cannot_register_as_another if {
	not authz.allow with input as {
		"subject": node_client, "action": "hub.node.register",
		"resource": {"name": "gd-injection-moulding", "region": "CN-GD"},
	}
}

test_a_node_cannot_move_region if {
	not authz.allow with input as {
		"subject": node_client, "action": "hub.node.register",
		"resource": {"name": "zj-textile", "region": "CN-GD"},
	}
}

test_registration_needs_the_scope if {
	not authz.allow with input as {
		"subject": object.union(node_client, {"scopes": ["nodes:read"]}), "action": "hub.node.register",
		"resource": {"name": "zj-textile", "region": "CN-ZJ"},
	}
}

test_anonymous_cannot_heartbeat if {
	not authz.allow with input as {
		"subject": anonymous, "action": "hub.node.heartbeat", "resource": {"name": "zj-textile"},
	}
}

test_base_url_only_for_members_with_nodes_read if {
	authz.allow with input as {
		"subject": consumer, "action": "hub.regional_node.read_field", "resource": {"field": "baseUrl"},
	}
	not authz.allow with input as {
		"subject": anonymous, "action": "hub.regional_node.read_field", "resource": {"field": "baseUrl"},
	}
	authz.allow with input as {
		"subject": anonymous, "action": "hub.regional_node.read_field", "resource": {"field": "status"},
	}
}

test_version_only_for_members_with_nodes_read if {
	authz.allow with input as {
		"subject": consumer, "action": "hub.regional_node.read_field", "resource": {"field": "version"},
	}
	not authz.allow with input as {
		"subject": anonymous, "action": "hub.regional_node.read_field", "resource": {"field": "version"},
	}
	not authz.allow with input as {
		"subject": object.union(consumer, {"scopes": []}), "action": "hub.regional_node.read_field",
		"resource": {"field": "version"},
	}
}

test_unknown_actions_are_denied if {
	not authz.allow with input as {"subject": node_client, "action": "hub.everything.do"}
}

directory_admin := {
	"kind": "user", "id": "u-admin", "org": "o-hub", "org_kind": "hub_operator",
	"region": null, "node": null, "scopes": ["hub:admin"], "roles": ["admin"],
}

test_only_hub_admins_change_a_nodes_url if {
	authz.allow with input as {
		"subject": directory_admin, "action": "hub.node.change_url", "resource": {"name": "zj-textile"},
	}
	authz.allow with input as {
		"subject": {"kind": "system"}, "action": "hub.node.change_url",
		"resource": {"name": "zj-textile"},
	}
	not authz.allow with input as {
		"subject": node_client, "action": "hub.node.change_url", "resource": {"name": "zj-textile"},
	}
	not authz.allow with input as {
		"subject": object.union(directory_admin, {"scopes": []}), "action": "hub.node.change_url",
		"resource": {"name": "zj-textile"},
	}
}

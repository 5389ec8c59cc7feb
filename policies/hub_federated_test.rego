package yunfab.authz_test

import rego.v1

import data.yunfab.authz

test_only_hub_operators_start_federated_runs if {
	authz.allow with input as {
		"subject": {"kind": "user", "org_kind": "hub_operator", "scopes": ["federated:run"]},
		"action": "hub.federated.run",
	}
	authz.allow with input as {"subject": {"kind": "system"}, "action": "hub.federated.run"}
	not authz.allow with input as {
		"subject": {"kind": "user", "org_kind": "hub_operator", "scopes": ["federated:read"]},
		"action": "hub.federated.run",
	}
	not authz.allow with input as {
		"subject": {"kind": "client", "org_kind": "node_operator", "node": "zj-textile", "scopes": ["nodes:register", "federated:run"]},
		"action": "hub.federated.run",
	}
}

test_runs_are_read_by_hub_operators_and_nodes if {
	authz.allow with input as {
		"subject": {"kind": "client", "org_kind": "node_operator", "node": "zj-textile", "scopes": ["nodes:register"]},
		"action": "hub.federated.read",
	}
	not authz.allow with input as {
		"subject": {"kind": "client", "org_kind": "consumer", "scopes": ["factories:read", "orders:write"]},
		"action": "hub.model.read",
	}
}

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

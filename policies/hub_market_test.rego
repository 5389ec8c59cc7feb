package yunfab.market_authz_test

import rego.v1

import data.yunfab.authz

_pub := {"kind": "client", "org": "p1", "org_kind": "publisher", "scopes": ["market:publish"]}

_reviewer := {"kind": "user", "org": "h1", "org_kind": "hub_operator", "scopes": ["market:review"], "roles": ["reviewer"]}

_operator := {"kind": "client", "org": "n1", "org_kind": "node_operator", "scopes": ["market:install"]}

_node := {"kind": "client", "org": "n1", "org_kind": "node_operator", "node": "zj-1", "scopes": ["nodes:register"]}

_consumer := {"kind": "client", "org": "c1", "org_kind": "consumer", "scopes": ["market:publish", "market:install"]}

_allow(subject, action, resource) if authz.allow with input as {"subject": subject, "action": action, "resource": resource}

test_publishers_publish_and_grant_only_their_own if {
	_allow(_pub, "hub.market.release.publish", {"org": "p1"})
	_allow(_pub, "hub.market.entitlement.grant", {"org": "p1"})
	_allow(_pub, "hub.market.key.register", {"org": "p1", "kind": "publisher"})
	not _allow(_pub, "hub.market.release.publish", {"org": "p2"})
	not _allow(_pub, "hub.market.key.register", {"org": "p1", "kind": "reviewer"})
	not _allow(_consumer, "hub.market.release.publish", {"org": "c1"})
	not _allow(_operator, "hub.market.release.publish", {"org": "n1"})
}

test_only_hub_reviewers_verify_and_countersign if {
	_allow(_reviewer, "hub.market.publisher.verify", {"org": "p1"})
	_allow(_reviewer, "hub.market.release.review", {"org": "h1"})
	_allow(_reviewer, "hub.market.key.register", {"org": "h1", "kind": "reviewer"})
	_allow(_reviewer, "hub.market.release.revoke", {"org": "p1"})
	not _allow(object.union(_reviewer, {"roles": []}), "hub.market.publisher.verify", {"org": "p1"})
	not _allow(object.union(_reviewer, {"org_kind": "publisher"}), "hub.market.release.review", {})
	not _allow(_pub, "hub.market.publisher.verify", {"org": "p1"})
	not _allow(_pub, "hub.market.release.review", {"org": "p1"})
}

test_node_operators_install_on_their_own_nodes if {
	_allow(_operator, "hub.market.install.request", {"org": "n1", "node": "zj-1"})
	_allow(_node, "hub.market.install.request", {"org": "n1", "node": "zj-1"})
	not _allow(_operator, "hub.market.install.request", {"org": "n2", "node": "js-1"})
	not _allow(_operator, "hub.market.install.request", {"org": null, "node": "zj-9"})
	not _allow(_node, "hub.market.install.request", {"org": "n1", "node": "zj-2"})
	not _allow(_pub, "hub.market.install.request", {"org": "n1", "node": "zj-1"})
}

test_nodes_sync_only_themselves if {
	_allow(_node, "hub.market.node.sync", {"node": "zj-1"})
	not _allow(_node, "hub.market.node.sync", {"node": "zj-2"})
	not _allow(_operator, "hub.market.node.sync", {"node": "zj-1"})
	_allow(_node, "hub.market.trust.read", {})
}

test_anonymous_is_denied_everything if {
	anonymous := {"kind": "anonymous", "scopes": []}
	not _allow(anonymous, "hub.market.read", {})
	not _allow(anonymous, "hub.market.trust.read", {})
	not _allow(anonymous, "hub.market.node.sync", {"node": null})
}

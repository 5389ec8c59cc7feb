package yunfab.authz_test

import rego.v1

import data.yunfab.authz

hub_admin := {
	"kind": "user", "id": "u-1", "org": "o-hub", "org_kind": "hub_operator",
	"scopes": ["orgs:read", "audit:read", "hub:admin"], "roles": ["admin"],
}

auditor := {
	"kind": "user", "id": "u-2", "org": "o-hub", "org_kind": "hub_operator",
	"scopes": ["audit:read"], "roles": ["auditor"],
}

factory_user := {
	"kind": "user", "id": "u-3", "org": "o-factory", "org_kind": "factory",
	"scopes": ["orgs:read", "audit:read"], "roles": [],
}

orgs := [
	{"id": "o-hub", "kind": "hub_operator"},
	{"id": "o-factory", "kind": "factory"},
	{"id": "o-other-factory", "kind": "factory"},
	{"id": "o-pub", "kind": "publisher"},
]

test_organizations_are_filtered_row_by_row_in_one_batch if {
	authz.allowed == [true, true, false, true] with input as {
		"subject": factory_user, "action": "hub.organization.read", "resources": orgs,
	}
	authz.allowed == [true, true, true, true] with input as {
		"subject": hub_admin, "action": "hub.organization.read", "resources": orgs,
	}
}

test_only_auditors_read_the_audit_log if {
	authz.allow with input as {"subject": auditor, "action": "hub.audit.read"}
	not authz.allow with input as {"subject": factory_user, "action": "hub.audit.read"}
	authz.allow with input as {"subject": {"kind": "system"}, "action": "hub.audit.read"}
}

test_administration_needs_the_admin_scope_too if {
	not authz.allow with input as {
		"subject": object.union(hub_admin, {"scopes": ["orgs:read"]}), "action": "hub.keys.rotate",
	}
}

test_administration_needs_an_admin if {
	authz.allow with input as {"subject": hub_admin, "action": "hub.clients.create"}
	authz.allow with input as {"subject": {"kind": "system"}, "action": "hub.keys.rotate"}
	not authz.allow with input as {"subject": auditor, "action": "hub.clients.create"}
	not authz.allow with input as {"subject": factory_user, "action": "hub.keys.rotate"}
}

test_a_client_revokes_only_its_own_tokens if {
	client := {"kind": "client", "id": "c-1", "scopes": [], "roles": []}
	authz.allow with input as {"subject": client, "action": "hub.token.revoke", "resource": {"client_id": "c-1"}}
	not authz.allow with input as {"subject": client, "action": "hub.token.revoke", "resource": {"client_id": "c-2"}}
}

test_only_hub_admins_manage_people if {
	some action in {"hub.users.create", "hub.users.read", "hub.users.update"}
	authz.allow with input as {"subject": hub_admin, "action": action}
	authz.allow with input as {"subject": {"kind": "system"}, "action": action}
	not authz.allow with input as {"subject": auditor, "action": action}
	not authz.allow with input as {"subject": factory_user, "action": action}
	not authz.allow with input as {"subject": object.union(hub_admin, {"scopes": ["orgs:read"]}), "action": action}
	not authz.allow with input as {"subject": object.union(hub_admin, {"org_kind": "factory"}), "action": action}
}

test_only_admins_list_and_change_clients if {
	authz.allow with input as {"subject": hub_admin, "action": "hub.clients.read"}
	authz.allow with input as {"subject": hub_admin, "action": "hub.clients.update"}
	authz.allow with input as {"subject": {"kind": "system"}, "action": "hub.clients.update"}
	not authz.allow with input as {"subject": auditor, "action": "hub.clients.read"}
	not authz.allow with input as {"subject": factory_user, "action": "hub.clients.update"}
	not authz.allow with input as {
		"subject": object.union(hub_admin, {"scopes": ["orgs:read"]}), "action": "hub.clients.read",
	}
}

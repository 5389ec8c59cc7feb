# Organizations, clients, keys, tokens and the audit log.
package yunfab.authz

import rego.v1

identity_actions := {
	"hub.organizations.list",
	"hub.organization.read",
	"hub.clients.create",
	"hub.clients.read",
	"hub.clients.update",
	"hub.keys.rotate",
	"hub.users.create",
	"hub.users.read",
	"hub.users.update",
	"hub.organizations.create",
	"hub.viewer.read",
	"hub.token.revoke",
	"hub.audit.read",
}

# Organizations are listed row by row: everyone signed in with orgs:read sees the public actors
# of the platform (hub and node operators, publishers) and their own organization; the hub
# operator sees all, factories and consumers included.
identity(subject, "hub.organization.read", resource, _) if {
	has_scope(subject, "orgs:read")
	_may_see_organization(subject, resource)
}

identity(subject, "hub.organizations.list", _, _) if {
	authenticated(subject)
	has_scope(subject, "orgs:read")
}

_may_see_organization(subject, _) if hub_operator(subject)

_may_see_organization(subject, resource) if {
	authenticated(subject)
	resource.id == subject.org
}

_may_see_organization(subject, resource) if {
	authenticated(subject)
	resource.kind in {"hub_operator", "node_operator", "publisher"}
}

# Administration happens at the hub's console, or by a hub operator's admin. People (users,
# their roles, passwords, disabling) are managed only by them: roles bound every token's scopes.
identity(subject, action, _, _) if {
	action in {
		"hub.clients.create", "hub.clients.read", "hub.clients.update",
		"hub.keys.rotate", "hub.organizations.create",
		"hub.users.create", "hub.users.read", "hub.users.update",
	}
	_administrator(subject)
}

_administrator(subject) if system(subject)

_administrator(subject) if {
	hub_operator(subject)
	has_role(subject, "admin")
	has_scope(subject, "hub:admin")
}

# Anyone signed in may ask who they are.
identity(subject, "hub.viewer.read", _, _) if authenticated(subject)

# Tokens: a client revokes what it was issued; the hub operator's admins revoke anything.
identity(subject, "hub.token.revoke", resource, _) if {
	subject.kind == "client"
	resource.client_id == subject.id
}

identity(subject, "hub.token.revoke", _, _) if _administrator(subject)

# Auditors (and the console) read the audit log.
identity(subject, "hub.audit.read", _, _) if {
	authenticated(subject)
	has_scope(subject, "audit:read")
	has_role(subject, "auditor")
}

identity(subject, "hub.audit.read", _, _) if system(subject)

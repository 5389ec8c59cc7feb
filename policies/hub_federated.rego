# Federated learning runs started from the hub, and the hub's model registry.
package yunfab.authz

import rego.v1

federated_actions := {
	"hub.federated.run",
	"hub.federated.read",
	"hub.model.read",
}

# Runs train on every registered node's data: only the hub's operators start them (and the
# operator at the hub's console).
federated(subject, "hub.federated.run", _, _) if {
	hub_operator(subject)
	has_scope(subject, "federated:run")
}

federated(subject, _, _, _) if system(subject)

# Runs, their per-node metrics and the models they made: the hub's operators, and the nodes
# themselves (whose data took part).
federated(subject, action, _, _) if {
	action in {"hub.federated.read", "hub.model.read"}
	hub_operator(subject)
	some scope in {"federated:read", "federated:run"}
	has_scope(subject, scope)
}

federated(subject, action, _, _) if {
	action in {"hub.federated.read", "hub.model.read"}
	subject.kind == "client"
	subject.node != null
	has_scope(subject, "nodes:register")
}

# The supply-and-demand board: needs and offers of materials and production capacity.
package yunfab.authz

import rego.v1

board_actions := {
	"hub.board.read",
	"hub.board.post",
	"hub.board.close",
}

# The board is for platform members who asked to browse the exchange (and the hub's console).
board(subject, "hub.board.read", _, _) if {
	authenticated(subject)
	has_scope(subject, "exchange:read")
}

board(subject, "hub.board.read", _, _) if system(subject)

# A member posts in its own organization's name, and takes only its own postings off the board.
board(subject, action, resource, _) if {
	action in {"hub.board.post", "hub.board.close"}
	authenticated(subject)
	has_scope(subject, "exchange:write")
	_own_posting(subject, resource)
}

_own_posting(subject, resource) if {
	subject.org != null
	resource.org == subject.org
}

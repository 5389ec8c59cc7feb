package yunfab.authz_test

import rego.v1

import data.yunfab.authz

_board_maker := {"kind": "client", "org": "org-suits", "org_kind": "factory", "scopes": ["exchange:read", "exchange:write"]}

_board_reader := {"kind": "client", "org": "org-reader", "org_kind": "consumer", "scopes": ["exchange:read"]}

test_the_board_is_read_with_exchange_read if {
	authz.allow with input as {"subject": _board_reader, "action": "hub.board.read"}
	authz.allow with input as {"subject": {"kind": "system"}, "action": "hub.board.read"}
	not authz.allow with input as {
		"subject": {"kind": "client", "org": "org-x", "scopes": ["orgs:read", "exchange:write"]},
		"action": "hub.board.read",
	}
	not authz.allow with input as {"subject": {"kind": "anonymous", "scopes": []}, "action": "hub.board.read"}
}

test_members_post_in_their_own_name_with_exchange_write if {
	authz.allow with input as {"subject": _board_maker, "action": "hub.board.post", "resource": {"org": "org-suits"}}
	not authz.allow with input as {"subject": _board_reader, "action": "hub.board.post", "resource": {"org": "org-reader"}}
	not authz.allow with input as {"subject": _board_maker, "action": "hub.board.post", "resource": {"org": "org-other"}}
	not authz.allow with input as {"subject": _board_maker, "action": "hub.board.post"}
}

test_a_subject_without_an_organization_never_posts if {
	not authz.allow with input as {
		"subject": {"kind": "user", "org": null, "scopes": ["exchange:write"]},
		"action": "hub.board.post",
		"resource": {"org": null},
	}
	not authz.allow with input as {"subject": {"kind": "system"}, "action": "hub.board.post", "resource": {"org": null}}
}

test_only_the_posting_organization_closes_a_posting if {
	authz.allow with input as {"subject": _board_maker, "action": "hub.board.close", "resource": {"id": "p1", "org": "org-suits"}}
	not authz.allow with input as {"subject": _board_maker, "action": "hub.board.close", "resource": {"id": "p2", "org": "org-weaver"}}
	not authz.allow with input as {
		"subject": {"kind": "client", "org": "org-suits", "scopes": ["exchange:read"]},
		"action": "hub.board.close",
		"resource": {"id": "p1", "org": "org-suits"},
	}
	not authz.allow with input as {
		"subject": {"kind": "user", "org": "org-hub", "org_kind": "hub_operator", "scopes": ["exchange:write"], "roles": ["admin"]},
		"action": "hub.board.close",
		"resource": {"id": "p2", "org": "org-weaver"},
	}
}

test_board_lists_are_decided_row_by_row if {
	decisions := authz.allowed with input as {
		"subject": _board_maker,
		"action": "hub.board.close",
		"resources": [{"org": "org-suits"}, {"org": "org-weaver"}],
	}
	decisions == [true, false]
}

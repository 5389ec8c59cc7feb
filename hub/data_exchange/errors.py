"""The data exchange's refusals (catalog, offers, contracts, synchronisation, queries outside
their terms, live queries, the board), each with a stable code."""

from __future__ import annotations

from yunfab.errors import Conflict, Forbidden, NotFound, ServiceUnavailable


class DataProductNotFound(NotFound):
    code = "data_product_not_found"


class OfferNotFound(NotFound):
    code = "offer_not_found"


class ContractNotFound(NotFound):
    code = "contract_not_found"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class SyncGap(Conflict):
    code = "sync_gap"


class PolicyUnavailable(ServiceUnavailable):
    code = "policy_unavailable"


class TermViolated(Forbidden):
    """A query or request outside an agreement or offer: `term` names the term it breaks."""


class NodeUnavailable(ServiceUnavailable):
    code = "node_unavailable"


class PostingNotFound(NotFound):
    code = "board_posting_not_found"


class PostingClosed(Conflict):
    code = "board_posting_closed"


class TooManyOpenPostings(Conflict):
    code = "board_posting_limit"

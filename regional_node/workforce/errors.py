"""The shared-workers domain's refusals, each with a stable code."""

from __future__ import annotations

from yunfab.errors import Conflict, InvalidInput, NotFound


class WorkerNotFound(NotFound):
    code = "worker_not_found"


class NeedNotFound(NotFound):
    code = "need_not_found"


class MatchRunNotFound(NotFound):
    code = "match_run_not_found"


class ProposalNotFound(NotFound):
    code = "proposal_not_found"


class WorkforceInvalid(InvalidInput):
    code = "workforce_invalid"


class ProposalClosed(Conflict):
    """Declined, withdrawn, or not yet accepted by both sides where that is needed."""

    code = "proposal_closed"


class ConsentLinkInvalid(NotFound):
    """Unknown, used or expired: the employer issues a new one."""

    code = "consent_link_invalid"

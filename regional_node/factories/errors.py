"""The factories domain's refusals, each with a stable code."""

from __future__ import annotations

from yunfab.errors import Conflict, InvalidInput, NotFound


class FactoryExists(Conflict):
    code = "factory_exists"


class FactoryNotFound(NotFound):
    code = "factory_not_found"


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"


class ProfileIncomplete(InvalidInput):
    code = "profile_incomplete"

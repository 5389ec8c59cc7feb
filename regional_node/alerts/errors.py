"""The alerts domain's refusals (alerts, rules, silences, contact points and their destinations,
sealed secrets), each with a stable code."""

from __future__ import annotations

from yunfab.errors import Conflict, InvalidInput, NotFound, ServiceUnavailable


class AlertNotFound(NotFound):
    code = "alert_not_found"


class AlertClosed(Conflict):
    code = "alert_closed"


class AlertRuleNotFound(NotFound):
    code = "alert_rule_not_found"


class SilenceNotFound(NotFound):
    code = "alert_silence_not_found"


class ContactPointNotFound(NotFound):
    code = "contact_point_not_found"


class UnsafeDestination(InvalidInput):
    code = "invalid_contact_point"


class SealingUnavailable(ServiceUnavailable):
    code = "alert_secrets_unavailable"

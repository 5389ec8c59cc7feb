"""The devices domain's refusals, each with a stable code (BrokerUnavailable: the managed broker
refused a device's credentials or rights)."""

from __future__ import annotations

from yunfab.errors import Conflict, NotFound, ServiceUnavailable


class DeviceExists(Conflict):
    code = "device_exists"


class DeviceNotFound(NotFound):
    code = "device_not_found"


class DeviceTransitionNotAllowed(Conflict):
    code = "transition_not_allowed"


class FactoryNotActive(Conflict):
    code = "factory_not_active"


class BrokerUnavailable(ServiceUnavailable):
    code = "broker_unavailable"

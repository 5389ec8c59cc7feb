"""The telemetry domain's refusal, with its stable code."""

from __future__ import annotations

from yunfab.errors import Unauthenticated


class DeviceAuthFailed(Unauthenticated):
    code = "device_auth_failed"
